{
  description = "health-service: a small HTTP service that reports its own health";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixpkgs-unstable";
    crane.url = "github:ipetkov/crane";
    rust-overlay = {
      url = "github:oxalica/rust-overlay";
      inputs.nixpkgs.follows = "nixpkgs";
    };
    # The RustSec database, pinned by the lock so `nix flake check` audits reproducibly.
    advisory-db = {
      url = "github:rustsec/advisory-db";
      flake = false;
    };
  };

  # This file only wires inputs, systems and outputs; nix/*.nix build the pieces.
  outputs =
    {
      self,
      nixpkgs,
      crane,
      rust-overlay,
      advisory-db,
    }:
    let
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];

      # Per system: nixpkgs with the Rust toolchains overlay, and everything nix/ builds from it.
      perSystem = nixpkgs.lib.genAttrs systems (
        system:
        let
          pkgs = import nixpkgs {
            inherit system;
            overlays = [ rust-overlay.overlays.default ];
          };
          crate = pkgs.callPackage ./nix/package.nix {
            inherit crane;
            src = ./.;
            revision = self.rev or self.dirtyRev or "unknown";
          };
        in
        {
          inherit pkgs crate;
          image = pkgs.callPackage ./nix/image.nix {
            inherit crate;
            # The commit's own date, so two builds of one commit are bit-identical.
            lastModifiedDate = self.lastModifiedDate or "19700101000001";
          };
          # Imported, not callPackage'd: see nix/checks.nix.
          checks = import ./nix/checks.nix {
            inherit (pkgs) lib;
            inherit crate advisory-db;
          };
        }
      );
      forAllSystems = f: nixpkgs.lib.mapAttrs (_: f) perSystem;
    in
    {
      packages = forAllSystems (s: {
        default = s.crate.package;
        inherit (s) image;
      });

      apps = forAllSystems (s: {
        default = {
          type = "app";
          program = s.pkgs.lib.getExe s.crate.package;
          meta.description = "Serve health-service with its defaults on 0.0.0.0:8080";
        };
      });

      checks = forAllSystems (s: s.checks);

      devShells = forAllSystems (s: {
        default = s.pkgs.callPackage ./nix/shell.nix {
          inherit (s) crate checks;
        };
      });

      # `nix fmt` runs this with no arguments (Nix >= 2.25): nixfmt alone would wait on stdin;
      # nixfmt-tree is treefmt set up to run nixfmt on every *.nix file of the tree.
      formatter = forAllSystems (s: s.pkgs.nixfmt-tree);
    };
}
