//! rustimg's example application: prints a greeting and the facts an image
//! config controls (user, working directory, environment, arguments), one
//! `key=value` per line, so tests can check them from inside the container.

use std::env;
use std::fs;

/// The real uid and gid of this process, read from /proc/self/status
/// (std has no getuid; this keeps the crate free of dependencies).
fn ids() -> (String, String) {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or("unknown")
            .to_string()
    };
    (field("Uid:"), field("Gid:"))
}

fn var(name: &str) -> String {
    env::var(name).unwrap_or_else(|_| "<unset>".to_string())
}

fn main() {
    let greeting = env::var("GREETING").unwrap_or_else(|_| "Hello".to_string());
    println!("{greeting}, world!");
    let (uid, gid) = ids();
    println!("uid={uid}");
    println!("gid={gid}");
    let cwd = env::current_dir()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|e| format!("<error: {e}>"));
    println!("cwd={cwd}");
    println!("exe={}", env::args().next().unwrap_or_default());
    println!("args={:?}", env::args().skip(1).collect::<Vec<_>>());
    for name in ["PATH", "SSL_CERT_FILE", "GREETING", "APP_MODE"] {
        println!("env.{name}={}", var(name));
    }
    let certs = fs::metadata("/etc/ssl/certs/ca-certificates.crt").is_ok();
    println!("ca_bundle={}", if certs { "present" } else { "absent" });
}
