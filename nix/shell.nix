# `nix develop`: the toolchain and the checks' inputs, plus the tools the README uses.
{
  # from nixpkgs
  rust-analyzer,
  cargo-nextest,
  wrk,
  flyctl,
  skopeo,
  # from the flake
  crate,
  checks,
}:
crate.craneLib.devShell {
  # Everything the checks build with (cargo-audit, cargo-deny, taplo...).
  inherit checks;
  packages = [
    rust-analyzer
    cargo-nextest
    wrk
    flyctl
    skopeo
  ];
}
