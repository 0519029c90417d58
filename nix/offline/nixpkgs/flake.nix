# EVALUATION-ONLY STAND-IN for github:NixOS/nixpkgs; see ./default.nix.
# nix/offline/eval copies ../shared/nix/nixpkgs-lib/lib beside these files as ./lib.
{
  description = "Evaluation-only stand-in for nixpkgs (nix/offline/eval); builds nothing";

  outputs = _: {
    lib = import ./lib.nix;
  };
}
