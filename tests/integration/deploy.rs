//! The deployment files held against each other and against the code.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn repo_file(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// flake.nix's `inputs`, evaluated by Nix itself rather than parsed by hand.
fn flake_inputs() -> Value {
    let output = Command::new("nix-instantiate")
        .args([
            "--eval",
            "--strict",
            "--json",
            "--expr",
            "(import ./flake.nix).inputs",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("nix-instantiate runs (Debian: nix-bin)");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON from nix-instantiate")
}

/// `github:owner/repo[/ref]` as a lock file's `original` entry.
fn original_of(url: &str) -> Value {
    let path = url
        .strip_prefix("github:")
        .unwrap_or_else(|| panic!("only github: inputs are expected: {url}"));
    let parts: Vec<&str> = path.split('/').collect();
    let mut original = serde_json::json!({ "type": "github", "owner": parts[0], "repo": parts[1] });
    if let Some(reference) = parts.get(2) {
        original["ref"] = Value::from(*reference);
    }
    original
}

#[test]
#[ignore = "needs nix-instantiate and ../shared/nix/inputs.json: run by .ci/run"]
fn flake_lock_matches_the_flake_inputs_and_the_verified_pins() {
    let lock: Value = serde_json::from_str(&repo_file("flake.lock")).unwrap();
    let inputs = flake_inputs();
    let verified_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/nix/inputs.json");
    let verified: Value =
        serde_json::from_str(&std::fs::read_to_string(verified_path).unwrap()).unwrap();

    assert_eq!(lock["version"], 7);
    let root = &lock["nodes"][lock["root"].as_str().unwrap()];
    let mut root_inputs: Vec<&String> = root["inputs"].as_object().unwrap().keys().collect();
    let mut flake_names: Vec<&String> = inputs.as_object().unwrap().keys().collect();
    root_inputs.sort();
    flake_names.sort();
    assert_eq!(
        root_inputs, flake_names,
        "every flake input has a lock node, and no other"
    );

    for (name, input) in inputs.as_object().unwrap() {
        let node_name = root["inputs"][name].as_str().unwrap();
        let node = &lock["nodes"][node_name];
        let pin = &verified["inputs"][name];
        assert_eq!(
            node["original"],
            original_of(input["url"].as_str().unwrap()),
            "{name}: original is the flake URL"
        );
        assert_eq!(node["original"], pin["original"], "{name}: original");
        assert_eq!(
            node["locked"], pin["locked"],
            "{name}: rev, narHash and lastModified are the verified ones"
        );
        let flake = input.get("flake").and_then(Value::as_bool).unwrap_or(true);
        assert_eq!(
            node.get("flake").and_then(Value::as_bool).unwrap_or(true),
            flake,
            "{name}: flake = false"
        );
        // Every `follows` in flake.nix is recorded as a path from the root.
        let follows = input.get("inputs").and_then(Value::as_object);
        for (dep, spec) in follows.into_iter().flatten() {
            let target = spec["follows"].as_str().unwrap();
            assert_eq!(
                node["inputs"][dep],
                serde_json::json!([target]),
                "{name}.{dep} follows {target}"
            );
        }
        let rev = node["locked"]["rev"].as_str().unwrap();
        assert!(
            rev.len() == 40 && rev.chars().all(|c| c.is_ascii_hexdigit()),
            "{name}: full rev"
        );
        assert!(
            node["locked"]["narHash"]
                .as_str()
                .unwrap()
                .starts_with("sha256-"),
            "{name}: narHash"
        );
    }
}

