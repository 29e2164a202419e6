//! The AWS shared files as the AWS CLI reads them (`~/.aws/credentials` and `~/.aws/config`,
//! or `AWS_SHARED_CREDENTIALS_FILE` / `AWS_CONFIG_FILE`; profile `AWS_PROFILE`, else
//! `default`). object_store reads the environment, web identity tokens and the container and
//! instance roles itself; the profile files are the one source of the usual chain it leaves
//! out. Read as state files are: regular, bounded, never followed into anything else.

use std::path::PathBuf;

/// A profile's static keys.
#[derive(Debug, Clone, PartialEq)]
pub struct Keys {
    pub key_id: String,
    pub secret: String,
    pub token: Option<String>,
}

/// Largest shared file read (they are a few hundred bytes a profile).
const MAX_BYTES: u64 = 1 << 20;

fn file(var: &str, name: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(var) {
        return Some(PathBuf::from(p));
    }
    let home = std::env::var_os("HOME")?;
    Some(PathBuf::from(home).join(".aws").join(name))
}

fn profile() -> String {
    std::env::var("AWS_PROFILE").unwrap_or_else(|_| "default".into())
}

/// The `key = value` lines of section `want` in an INI text.
pub fn section(text: &str, want: &str) -> Vec<(String, String)> {
    let mut inside = false;
    let mut out = Vec::new();
    for line in text.lines() {
        let l = line.trim();
        if l.starts_with('#') || l.starts_with(';') || l.is_empty() {
            continue;
        }
        if let Some(name) = l.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            let name = name.trim();
            inside = name == want || name.strip_prefix("profile ").map(str::trim) == Some(want);
            continue;
        }
        if inside {
            if let Some((k, v)) = l.split_once('=') {
                out.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
    }
    out
}

fn read(var: &str, name: &str) -> Option<String> {
    let p = file(var, name)?;
    let b = crate::read::sniff::read_regular(&p, false, MAX_BYTES).ok()?;
    String::from_utf8(b).ok()
}

/// Keys of the profile in the credentials file.
pub fn from_profile() -> Option<Keys> {
    keys_in(
        &read("AWS_SHARED_CREDENTIALS_FILE", "credentials")?,
        &profile(),
    )
}

pub fn keys_in(text: &str, profile: &str) -> Option<Keys> {
    let kv = section(text, profile);
    let get = |k: &str| kv.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone());
    Some(Keys {
        key_id: get("aws_access_key_id")?,
        secret: get("aws_secret_access_key")?,
        token: get("aws_session_token"),
    })
}

/// The profile's region in the config file.
pub fn profile_region() -> Option<String> {
    let text = read("AWS_CONFIG_FILE", "config")?;
    section(&text, &profile())
        .into_iter()
        .find(|(k, _)| k == "region")
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_are_read_as_the_aws_cli_reads_them() {
        let text = "[default]\naws_access_key_id = AKIA1\naws_secret_access_key=s1\n\n\
                    # a comment\n[profile work]\nAWS_ACCESS_KEY_ID = AKIA2\naws_secret_access_key = s2\naws_session_token = t2\n";
        assert_eq!(
            keys_in(text, "default"),
            Some(Keys {
                key_id: "AKIA1".into(),
                secret: "s1".into(),
                token: None
            })
        );
        let w = keys_in(text, "work").unwrap();
        assert_eq!(
            (w.key_id.as_str(), w.token.as_deref()),
            ("AKIA2", Some("t2"))
        );
        assert_eq!(keys_in(text, "missing"), None);
        assert_eq!(section("[x]\nregion=us-west-2", "x")[0].1, "us-west-2");
    }
}
