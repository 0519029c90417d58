//! The container image and the crate source as the flake defines them, read by evaluating the
//! flake (`nix/offline/eval`: Nix itself, the real crane and nixpkgs lib, evaluation-only
//! stand-ins for nixpkgs' packages and rust-overlay) and held against the code.
//!
//! The stand-in `dockerTools.buildLayeredImage` keeps the arguments the flake gave it as
//! `standInArgs`, so these tests see exactly what a real build would put in the image's config.
//! The image is read through `nix/offline/eval outputs`, which calls the flake's outputs with a
//! `self` that has the commit: under `--override-input` Nix drops `self.rev`.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, UNIX_EPOCH};

use clap::CommandFactory;
use health_service::config::{Cli, DEFAULT_METRICS_PORT, DEFAULT_PORT};
use serde_json::Value;

/// The flake's systems: the image must be right on both.
const SYSTEMS: [&str; 2] = ["x86_64-linux", "aarch64-linux"];

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `nix/offline/eval MODE --json [INSTALLABLE] --apply APPLY`: `eval` evaluates the flake with
/// its inputs overridden, `outputs` the flake's outputs called with the same inputs.
fn nix_eval(mode_and_installable: &[&str], apply: &str) -> Value {
    let output = Command::new(repo().join("nix/offline/eval"))
        .args(mode_and_installable)
        .args(["--json", "--apply", apply])
        .output()
        .expect("nix/offline/eval runs (needs nix, Debian: nix-bin)");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON from nix eval")
}

fn git(args: &[&str]) -> String {
    let output = Command::new("git")
        .args(args)
        .current_dir(repo())
        .output()
        .expect("git runs");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// Per system: the arguments the flake hands to `dockerTools.buildLayeredImage`, and the
/// revision the package is built with (`HEALTH_SERVICE_REVISION`, which /health reports).
fn image_per_system() -> Value {
    nix_eval(
        &["outputs"],
        "o: builtins.mapAttrs (_: p: { args = p.image.standInArgs; revision = p.default.HEALTH_SERVICE_REVISION; }) o.packages",
    )
}

/// The revision Nix gives the flake (`self.rev or self.dirtyRev or "unknown"`): HEAD's commit
/// for a clean tree (as CI's clone is); with uncommitted changes to tracked files, "unknown"
/// (Nix 2.8) or HEAD's commit with "-dirty" (Nix 2.17 and later, `dirtyRev`).
fn expected_revisions() -> Vec<String> {
    let head = git(&["rev-parse", "HEAD"]);
    if git(&["status", "--porcelain", "--untracked-files=no"]).is_empty() {
        vec![head]
    } else {
        vec!["unknown".to_owned(), format!("{head}-dirty")]
    }
}

#[test]
#[ignore = "needs nix and ../shared: run by .ci/run"]
fn image_config_matches_the_code() {
    let images = image_per_system();
    let binary_name = Path::new(env!("CARGO_BIN_EXE_health-service"))
        .file_name()
        .unwrap();
    let revisions = expected_revisions();
    let commit_time = UNIX_EPOCH
        + Duration::from_secs(git(&["log", "-1", "--format=%ct", "HEAD"]).parse().unwrap());

    for system in SYSTEMS {
        let image = &images[system];
        let args = &image["args"];
        let config = &args["config"];

        // The entrypoint is the crate's binary, by its store path.
        let entrypoint = config["Entrypoint"].as_array().expect("Entrypoint list");
        assert_eq!(entrypoint.len(), 1, "{system}: {entrypoint:?}");
        let program = entrypoint[0].as_str().unwrap();
        assert!(program.starts_with("/nix/store/"), "{system}: {program}");
        assert_eq!(
            Path::new(program).file_name(),
            Some(binary_name),
            "{system}: the entrypoint is the crate's binary"
        );

        // Exactly the two ports the service listens on by default, and no Env to move them.
        let ports: BTreeSet<&str> = config["ExposedPorts"]
            .as_object()
            .expect("ExposedPorts")
            .keys()
            .map(String::as_str)
            .collect();
        let expected = format!("{DEFAULT_PORT}/tcp {DEFAULT_METRICS_PORT}/tcp");
        assert_eq!(
            ports,
            expected.split(' ').collect::<BTreeSet<_>>(),
            "{system}"
        );
        assert!(config.get("Env").is_none(), "{system}: {config}");

        // Exec form (the image has no shell), running a subcommand the binary has.
        let test = &config["Healthcheck"]["Test"];
        assert_eq!(
            test,
            &serde_json::json!(["CMD", program, "healthcheck"]),
            "{system}"
        );
        assert!(
            Cli::command().find_subcommand("healthcheck").is_some(),
            "`healthcheck` is a subcommand of the CLI"
        );

        // Numeric and not root, so the image needs no /etc/passwd and runs unprivileged.
        let user = config["User"].as_str().expect("User");
        let ids: Vec<u32> = user
            .split(':')
            .map(|id| id.parse().unwrap_or_else(|_| panic!("{system}: {user}")))
            .collect();
        assert_eq!(ids.len(), 2, "{system}: uid:gid, got {user}");
        assert!(ids.iter().all(|&id| id != 0), "{system}: {user} is root");

        // The labels point at this source, this version and this commit.
        let labels = &config["Labels"];
        assert_eq!(
            labels["org.opencontainers.image.source"],
            env!("CARGO_PKG_REPOSITORY")
        );
        assert_eq!(
            labels["org.opencontainers.image.version"],
            env!("CARGO_PKG_VERSION")
        );
        assert_eq!(args["tag"], env!("CARGO_PKG_VERSION"), "{system}");
        let revision = labels["org.opencontainers.image.revision"]
            .as_str()
            .unwrap();
        assert!(
            revisions.iter().any(|r| r == revision),
            "{system}: revision label {revision}, expected one of {revisions:?}"
        );
        assert_eq!(
            image["revision"], revision,
            "{system}: the binary reports the revision the label names"
        );

        // The commit's date, never "now", so a rebuild of the commit is bit-identical.
        let created = args["created"].as_str().expect("created");
        let parsed = humantime::parse_rfc3339(created)
            .unwrap_or_else(|e| panic!("{system}: created {created:?} is not RFC 3339: {e}"));
        assert_eq!(
            parsed,
            commit_time,
            "{system}: created {created} is not HEAD's commit date {}",
            humantime::format_rfc3339_seconds(commit_time)
        );
    }
}

#[test]
#[ignore = "needs nix and ../shared: run by .ci/run"]
fn crate_source_holds_every_file_the_build_and_the_tests_read() {
    // The source the package and the checks build from, as lib.fileset copied it to the store.
    let src = nix_eval(&["eval", ".#packages"], "p: p.x86_64-linux.default.src");
    let src = Path::new(src.as_str().expect("a store path"));
    // Every TOML file (the checks and tests read them), everything under src/ and tests/ (code,
    // include_str! assets such as status.css, test fixtures), every Rust file (benches/ too:
    // clippy checks all targets), and the lock file.
    let tracked = git(&["ls-files", "*.toml", "src", "tests", "*.rs", "Cargo.lock"]);
    for needed in [
        "fly.toml",
        "src/monitor/status/status.css",
        "tests/fixtures/tls/ca.pem",
    ] {
        assert!(
            tracked.lines().any(|f| f == needed),
            "{needed} not tracked: {tracked}"
        );
    }
    for file in tracked.lines() {
        assert!(
            src.join(file).is_file(),
            "{file} is missing from the crate source {}: the build or the tests read it",
            src.display()
        );
    }
}

#[test]
#[ignore = "needs nix and ../shared: run by .ci/run"]
fn musl_build_compiles_its_c_with_the_targets_static_cross_compiler() {
    // The global allocator is C (libmimalloc-sys): the cc crate must find the compiler of the
    // musl target, not the stdenv's glibc one, in the dependencies' build (where libmimalloc-sys
    // compiles) and in the package's.
    let per_system = nix_eval(
        &["eval", ".#packages"],
        "p: builtins.mapAttrs (_: s: builtins.map (d: { \
           target = d.CARGO_BUILD_TARGET; \
           targetCc = d.TARGET_CC or null; \
           underscored = d.${\"CC_\" + builtins.replaceStrings [\"-\"] [\"_\"] d.CARGO_BUILD_TARGET} or null; \
         }) [ s.default s.default.cargoArtifacts ]) p",
    );
    for system in SYSTEMS {
        let cpu = system.split('-').next().unwrap();
        let target = format!("{cpu}-unknown-linux-musl");
        let builds = per_system[system].as_array().expect("two derivations");
        assert_eq!(builds.len(), 2);
        for build in builds {
            assert_eq!(build["target"], target.as_str(), "{system}: {build}");
            let cc = build["targetCc"].as_str().unwrap_or_default();
            // nixpkgs' cc-wrapper of a cross stdenv: `<store>/bin/<triple>-cc`, from a wrapper
            // package named after the triple.
            assert!(
                cc.starts_with("/nix/store/")
                    && cc.ends_with(&format!("/bin/{target}-cc"))
                    && cc.contains(&format!("-{target}-gcc-wrapper")),
                "{system}: TARGET_CC {cc:?} is not the {target} cross compiler"
            );
            assert_eq!(
                build["underscored"], build["targetCc"],
                "{system}: CC_<target>, which the cc crate reads first, differs from TARGET_CC"
            );
        }
    }
}
