//! `s3://bucket/key` as seisbatch carries it: parsed and checked once (a bucket name S3
//! takes, no empty, `.` or `..` parts), joined and made relative as keys under a prefix are.

/// The scheme seisbatch recognises in `--input`, `--catalog` and `--output`.
pub const SCHEME: &str = "s3://";

/// An object URL: bucket and key (or key prefix, without a trailing `/`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Url {
    pub bucket: String,
    pub key: String,
}

impl Url {
    /// `s3://bucket/key`; None when `text` is not an s3 URL. Err when it is one but is not
    /// usable (no bucket, a bucket name S3 would refuse, `..` or empty parts in the key).
    pub fn parse(text: &str) -> Option<Result<Url, String>> {
        let rest = text.strip_prefix(SCHEME)?;
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        let key = key.trim_end_matches('/');
        let bad_bucket = bucket.len() < 3
            || bucket.len() > 63
            || !bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if bad_bucket {
            return Some(Err(format!(
                "{text}: `{bucket}` is not an S3 bucket name (3-63 lower-case letters, digits, `-`, `.`)"
            )));
        }
        if !key.is_empty()
            && key
                .split('/')
                .any(|p| p.is_empty() || p == "." || p == ".." || p.contains('\0'))
        {
            return Some(Err(format!(
                "{text}: the key has an empty, `.` or `..` part"
            )));
        }
        if key.len() > 900 {
            return Some(Err(format!("{text}: the key is longer than 900 bytes")));
        }
        Some(Ok(Url {
            bucket: bucket.to_string(),
            key: key.to_string(),
        }))
    }

    /// The URL of `rel` ('/'-separated) under this prefix.
    pub fn join(&self, rel: &str) -> Url {
        let rel = rel.trim_start_matches('/');
        let key = match (self.key.is_empty(), rel.is_empty()) {
            (true, _) => rel.to_string(),
            (false, true) => self.key.clone(),
            (false, false) => format!("{}/{rel}", self.key),
        };
        Url {
            bucket: self.bucket.clone(),
            key,
        }
    }

    /// The key relative to `prefix` (None when it is not under it).
    pub fn rel_to(&self, prefix: &Url) -> Option<String> {
        if self.bucket != prefix.bucket {
            return None;
        }
        if prefix.key.is_empty() {
            return Some(self.key.clone());
        }
        self.key
            .strip_prefix(&prefix.key)?
            .strip_prefix('/')
            .map(str::to_string)
    }
}

impl std::fmt::Display for Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{SCHEME}{}/{}", self.bucket, self.key)
    }
}

/// Whether a path (as the rest of seisbatch carries inputs) names an object.
pub fn is_remote(p: &std::path::Path) -> bool {
    p.to_str().is_some_and(|s| s.starts_with(SCHEME))
}

/// The object URL a path names, if it names one.
pub fn url_of(p: &std::path::Path) -> Option<Result<Url, String>> {
    Url::parse(p.to_str()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_and_refuse_what_s3_would() {
        let u = Url::parse("s3://scedc-pds/continuous_waveforms/2022/")
            .unwrap()
            .unwrap();
        assert_eq!(u.bucket, "scedc-pds");
        assert_eq!(u.key, "continuous_waveforms/2022");
        assert_eq!(
            u.join("2022_002/CIFOX2_LHZ___2022002.ms").to_string(),
            "s3://scedc-pds/continuous_waveforms/2022/2022_002/CIFOX2_LHZ___2022002.ms"
        );
        assert_eq!(
            u.join("a/b").rel_to(&u).as_deref(),
            Some("a/b"),
            "a key relative to its prefix"
        );
        assert_eq!(Url::parse("s3://b-1x/").unwrap().unwrap().key, "");
        assert!(Url::parse("/data/x").is_none());
        for bad in [
            "s3://",
            "s3://AB/x",
            "s3://ok-bucket/a/../b",
            "s3://ok-bucket/a//b",
        ] {
            assert!(Url::parse(bad).unwrap().is_err(), "{bad}");
        }
        // A sibling prefix is not inside.
        let other = Url::parse("s3://scedc-pds/continuous_waveforms/20223/x")
            .unwrap()
            .unwrap();
        assert_eq!(other.rel_to(&u), None);
    }
}
