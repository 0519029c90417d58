# EVALUATION-ONLY STAND-IN for github:oxalica/rust-overlay; see ./overlay.nix.
{
  description = "Evaluation-only stand-in for rust-overlay (nix/offline/eval); builds nothing";

  # Declared like the real flake's, so the flake's `follows` has something to follow.
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixpkgs-unstable";

  outputs = _: {
    overlays.default = import ./overlay.nix;
  };
}
