# EVALUATION-ONLY STAND-IN, never used by a real build: see ./default.nix.
#
# The real nixpkgs `lib` (../shared/nix/nixpkgs-lib/lib, copied beside this file as ./lib by
# nix/offline/eval), patched for Debian's Nix 2.8 in one place: `builtins.readFileType` exists
# only from Nix 2.14, and lib.filesystem.pathType (used by lib.fileset and lib.sources) calls
# it. The fallback is the one nixpkgs' lib had before 2.14, the type as the parent directory's
# `readDir` reports it, plus one case it did not need: a path directly in the store, whose
# parent pure evaluation may not list. The shared copy of lib stays untouched.
let
  lib = import ./lib;
  readFileType =
    builtins.readFileType or (
      path:
      if !builtins.pathExists path then
        abort "lib.filesystem.pathType: Path ${toString path} does not exist."
      # The root is the only path whose parent is itself.
      else if dirOf path == path then
        "directory"
      # Pure evaluation may not list the store itself, so for a store path ask whether it
      # exists as a directory: Nix 2.8 says no to "FILE/" (the store holds no symlinks).
      else if toString (dirOf path) == builtins.storeDir then
        if builtins.pathExists "${toString path}/" then "directory" else "regular"
      else
        (builtins.readDir (dirOf path)).${baseNameOf path}
    );
in
lib.extend (
  _final: prev: {
    filesystem = prev.filesystem // {
      inherit readFileType;
      pathType = readFileType;
    };
  }
)
