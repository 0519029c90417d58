# EVALUATION-ONLY STAND-IN for rust-overlay's overlay: it builds nothing and must never replace
# rust-overlay in a real build. See ../nixpkgs/default.nix for why the stand-ins exist.
#
# It reproduces the part of rust-overlay's `rust-bin` (lib/rust-bin.nix at the locked rev
# 292249772330735cb32b90dedf44feddec40e7d0) the flake uses, with rust-overlay's own checks:
# - `rust-bin.fromRustupToolchainFile PATH` really reads the file (a one-line channel or TOML
#   with a [toolchain] table), so a wrong path or a malformed file fails;
# - the channel must be one rust-overlay has at that rev ("stable", or a version listed in its
#   manifests/stable/default.nix), else "Stable X is not available";
# - `profile`, `components` (rustup's names, e.g. clippy, rustfmt) and `targets` are checked
#   against the 1.95.0 manifest's (manifests/stable/1.95.0.nix): an unknown component or a
#   target without rust-std fails as "Unknown component" / "Unknown target" does there;
# - a toolchain is overridable the way rust-overlay's are (lib.makeOverridable over
#   { extensions, targets, targetExtensions, enableLibsecret }), so `.override { targets = ...; }`
#   and `.override (old: ...)` behave as they do there.
# Facts about any other version are not reproduced: bumping rust-toolchain.toml means adding
# that version's profile, components and targets below from the same manifests.
final: prev:
let
  inherit (final) lib;

  # manifests/stable/default.nix at the locked rev.
  stableVersions = [
    "1.29.0"
    "1.29.1"
    "1.29.2"
    "1.30.0"
    "1.30.1"
    "1.31.0"
    "1.31.1"
    "1.32.0"
    "1.33.0"
    "1.34.0"
    "1.34.1"
    "1.34.2"
    "1.35.0"
    "1.36.0"
    "1.37.0"
    "1.38.0"
    "1.39.0"
    "1.40.0"
    "1.41.0"
    "1.41.1"
    "1.42.0"
    "1.43.0"
    "1.43.1"
    "1.44.0"
    "1.44.1"
    "1.45.0"
    "1.45.1"
    "1.45.2"
    "1.46.0"
    "1.47.0"
    "1.48.0"
    "1.49.0"
    "1.50.0"
    "1.51.0"
    "1.52.0"
    "1.52.1"
    "1.53.0"
    "1.54.0"
    "1.55.0"
    "1.56.0"
    "1.56.1"
    "1.57.0"
    "1.58.0"
    "1.58.1"
    "1.59.0"
    "1.60.0"
    "1.61.0"
    "1.62.0"
    "1.62.1"
    "1.63.0"
    "1.64.0"
    "1.65.0"
    "1.66.0"
    "1.66.1"
    "1.67.0"
    "1.67.1"
    "1.68.0"
    "1.68.1"
    "1.68.2"
    "1.69.0"
    "1.70.0"
    "1.71.0"
    "1.71.1"
    "1.72.0"
    "1.72.1"
    "1.73.0"
    "1.74.0"
    "1.74.1"
    "1.75.0"
    "1.76.0"
    "1.77.0"
    "1.77.1"
    "1.77.2"
    "1.78.0"
    "1.79.0"
    "1.80.0"
    "1.80.1"
    "1.81.0"
    "1.82.0"
    "1.83.0"
    "1.84.0"
    "1.84.1"
    "1.85.0"
    "1.85.1"
    "1.86.0"
    "1.87.0"
    "1.88.0"
    "1.89.0"
    "1.90.0"
    "1.91.0"
    "1.91.1"
    "1.92.0"
    "1.93.0"
    "1.93.1"
    "1.94.0"
    "1.94.1"
    "1.95.0"
    "1.96.0"
    "1.96.1"
    "1.97.0"
    "1.97.1"
  ];
  latestStable = "1.97.1";

  # From manifests/stable/1.95.0.nix (with manifests/{profiles,renames,targets}.nix).
  manifests."1.95.0" = {
    date = "2026-04-16";
    profiles = {
      minimal = [
        "rustc"
        "cargo"
        "rust-std"
        "rust-mingw"
      ];
      default = [
        "rustc"
        "cargo"
        "rust-std"
        "rust-mingw"
        "rust-docs"
        "rustfmt-preview"
        "clippy-preview"
      ];
      complete = [
        "rustc"
        "cargo"
        "rust-std"
        "rust-mingw"
        "rust-docs"
        "rustfmt-preview"
        "clippy-preview"
        "rust-analyzer-preview"
        "rust-src"
        "llvm-tools-preview"
        "rust-analysis"
        "miri-preview"
        "rustc-codegen-cranelift-preview"
      ];
    };
    components = [
      "cargo"
      "clippy-preview"
      "gcc-x86_64-unknown-linux-gnu-preview"
      "llvm-bitcode-linker-preview"
      "llvm-tools-preview"
      "miri-preview"
      "reproducible-artifacts"
      "rust"
      "rust-analysis"
      "rust-analyzer-preview"
      "rust-docs"
      "rust-docs-json-preview"
      "rust-mingw"
      "rust-src"
      "rust-std"
      "rustc"
      "rustc-codegen-cranelift-preview"
      "rustc-codegen-gcc-preview"
      "rustc-dev"
      "rustc-docs"
      "rustfmt-preview"
    ];
    renames = {
      clippy = "clippy-preview";
      gcc-x86_64-unknown-linux-gnu = "gcc-x86_64-unknown-linux-gnu-preview";
      llvm-bitcode-linker = "llvm-bitcode-linker-preview";
      llvm-tools = "llvm-tools-preview";
      miri = "miri-preview";
      rust-analyzer = "rust-analyzer-preview";
      rust-docs-json = "rust-docs-json-preview";
      rustc-codegen-cranelift = "rustc-codegen-cranelift-preview";
      rustc-codegen-gcc = "rustc-codegen-gcc-preview";
      rustfmt = "rustfmt-preview";
    };
    # The Linux targets of this flake's systems that have rust-std in this release (the
    # manifest lists about a hundred more; only these are reproduced).
    stdTargets = [
      "x86_64-unknown-linux-gnu"
      "x86_64-unknown-linux-musl"
      "aarch64-unknown-linux-gnu"
      "aarch64-unknown-linux-musl"
    ];
  };

  hostTarget = final.stdenv.hostPlatform.rust.rustcTarget;

  # The toolchain derivation of one release and profile, overridable like rust-overlay's.
  toolchain =
    version: profile:
    let
      manifest =
        manifests.${version} or (throw ''
          nix/offline/rust-overlay knows the components of Rust 1.95.0 only, not ${version}:
          add them from rust-overlay's manifests/stable/${version}.nix at the locked rev.
        '');
      profileComponents =
        manifest.profiles.${profile} or (throw ''
          Rust ${version} doesn't have profile `${profile}`.
          Available profiles are: ${toString (builtins.attrNames manifest.profiles)}
        '');
      known = name: builtins.elem name manifest.components || manifest.renames ? ${name};
      knownTarget = target: builtins.elem target manifest.stdTargets;
    in
    lib.makeOverridable (
      {
        extensions,
        targets,
        targetExtensions,
        enableLibsecret,
      }:
      let
        errors =
          map (t: "Unknown target `${t}`, typo or not supported by this version?") (
            builtins.filter (t: !knownTarget t) targets
          )
          ++ map (c: "Unknown component `${c}`, typo or not support by this version?") (
            builtins.filter (c: !known c) (extensions ++ targetExtensions)
          );
      in
      if errors != [ ] then
        throw "Component resolution failed for rust-${profile}-${version}\n${lib.concatStringsSep "\n" errors}"
      else
        final.stdenv.mkDerivation {
          pname = "rust-${profile}";
          inherit version;
          components = profileComponents ++ extensions;
          targets = lib.unique ([ hostTarget ] ++ targets);
          inherit targetExtensions enableLibsecret;
          meta.mainProgram = "rustc";
        }
    ) {
      extensions = [ ];
      targets = [ ];
      targetExtensions = [ ];
      enableLibsecret = profile != "minimal";
    };

  # lib/rust-bin.nix: selectManifest and fromRustupToolchain, for stable channels.
  fromRustupToolchain =
    {
      path ? null,
      channel ? null,
      profile ? null,
      components ? [ ],
      targets ? [ ],
    }:
    let
      version =
        if channel == "stable" then
          latestStable
        else if builtins.match "[0-9]+\\.[0-9]+\\.[0-9]+" channel != null then
          if builtins.elem channel stableVersions then
            channel
          else
            throw "Stable ${channel} is not available"
        else
          throw "nix/offline/rust-overlay reproduces stable channels only, not ${toString channel}";
    in
    if path != null then
      throw "`path` is not supported, please directly add it to your PATH instead"
    else if channel == null then
      throw "`channel` is required"
    else
      (toolchain version (if profile == null then "default" else profile)).override {
        extensions = components;
        inherit targets;
      };

  fromRustupToolchainFile =
    path:
    let
      content = builtins.readFile path;
      legacy = builtins.match "([^\r\n]+)\r?\n?" content;
    in
    if legacy != null then
      fromRustupToolchain { channel = builtins.head legacy; }
    else
      fromRustupToolchain (builtins.fromTOML content).toolchain;
in
{
  rust-bin = (prev.rust-bin or { }) // {
    inherit fromRustupToolchain fromRustupToolchainFile;
    stable = {
      latest = {
        default = fromRustupToolchain { channel = "stable"; };
        minimal = fromRustupToolchain {
          channel = "stable";
          profile = "minimal";
        };
      };
    };
  };
}
