# What `nix flake check` runs, each check named after its tool.
#
# Each is its own derivation, so CI can block on a failing lint without blocking builds of the
# package. Tests that need a browser or files outside the repository are `#[ignore]`d, which
# nextest skips here; `.ci/run` runs them.
#
# flake.nix imports this file with its arguments rather than through callPackage: callPackage
# would add `override` and `overrideDerivation` to the returned set, which `nix flake check`
# rejects as checks and the dev shell's inputsFrom cannot read.
{
  # from nixpkgs
  lib,
  # from the flake
  crate,
  advisory-db,
}:
let
  inherit (crate)
    craneLib
    commonArgs
    cargoArtifacts
    src
    ;
in
{
  # The package itself, as `nix build` makes it.
  build = crate.package;

  clippy = craneLib.cargoClippy (
    commonArgs
    // {
      inherit cargoArtifacts;
      cargoClippyExtraArgs = "--all-targets -- --deny warnings";
    }
  );

  rustfmt = craneLib.cargoFmt { inherit src; };

  taplo = craneLib.taploFmt {
    src = lib.sources.sourceFilesBySuffices src [ ".toml" ];
  };

  rustdoc = craneLib.cargoDoc (
    commonArgs
    // {
      inherit cargoArtifacts;
      env.RUSTDOCFLAGS = "--deny warnings";
    }
  );

  nextest = craneLib.cargoNextest (
    commonArgs
    // {
      inherit cargoArtifacts;
      partitions = 1;
      partitionType = "count";
    }
  );

  # Reads .cargo/audit.toml, the ignore list `.ci/run` shares.
  audit = craneLib.cargoAudit { inherit src advisory-db; };

  # licenses, bans and sources, per deny.toml.
  deny = craneLib.cargoDeny { inherit src; };
}
