//! The flags of every command that reads or writes s3:// paths (`run`, `index`, `correlate`):
//! one definition, so each offers the same ones with the same words.

/// How s3:// paths are reached (`--input`, `--catalog`, `--output`).
#[derive(Debug, Clone, clap::Args)]
pub struct S3Args {
    /// An S3-compatible server for s3:// paths (MinIO, Ceph, a local test server), e.g.
    /// http://127.0.0.1:9000 (default: AWS, credentials as the AWS CLI finds them:
    /// environment, profile, web identity, container or instance role).
    #[arg(long, value_name = "URL")]
    pub s3_endpoint: Option<String>,
    /// Unsigned requests, for public buckets (SCEDC's scedc-pds).
    #[arg(long)]
    pub s3_anonymous: bool,
    /// The bucket's region (default: AWS_REGION, the profile's, or us-east-1).
    #[arg(long, value_name = "REGION")]
    pub s3_region: Option<String>,
    /// Requests to object storage in flight at once.
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub s3_concurrency: usize,
}

impl S3Args {
    /// Sets the process's store options.
    pub fn apply(&self) -> Result<(), String> {
        crate::store::configure(crate::store::Options {
            endpoint: self.s3_endpoint.clone(),
            anonymous: self.s3_anonymous,
            region: self.s3_region.clone(),
            concurrency: self.s3_concurrency,
            ..crate::store::Options::default()
        })
    }
}
