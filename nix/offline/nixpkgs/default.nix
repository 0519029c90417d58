# EVALUATION-ONLY STAND-IN for nixpkgs. It builds nothing and must never replace nixpkgs in a
# real build.
#
# Why it exists: the development and CI machines reach neither GitHub nor the Nix binary cache,
# so the real nixpkgs cannot be fetched and nothing can be built there. `nix/offline/eval` runs
# `nix flake check --no-build` (and `nix eval`) on this flake with the real crane, the real
# nixpkgs `lib` and this small package set in place of nixpkgs, so everything the flake and
# crane compute is evaluated for real: attribute names, argument names and types, the crate's
# file set, Cargo.lock's checksums, every derivation's environment.
#
# What it catches: a missing or misspelt attribute of crane or of the parts of nixpkgs below,
# an argument of the wrong type or name, a value Nix cannot put in a derivation (sets,
# functions), a malformed hash, a package unavailable on its platform, a `checks` or
# `inputsFrom` entry that is not a derivation, and anything that throws while evaluating.
# Every stand-in derivation is a real `derivation` whose arguments are forced in full
# (deepSeq), so an error anywhere inside them fails evaluation.
#
# What it cannot catch: anything a build would show (compiler errors, failing tests, hashes of
# fetched files, the image's bytes), and the behaviour of real nixpkgs beyond what is
# reproduced here: the packages below are empty derivations with the right names, so a wrong
# attribute *of* one of them (say `pkgs.skopeo.foo`) is not caught unless it is reproduced.
# The shapes follow nixpkgs' own code: pkgs/stdenv/generic/make-derivation.nix,
# pkgs/build-support/{trivial-builders,mkshell,docker}/default.nix, pkgs/top-level/splice.nix.
{
  localSystem ? {
    inherit system;
  },
  system ? localSystem.system,
  crossSystem ? localSystem,
  config ? { },
  overlays ? [ ],
  crossOverlays ? [ ],
}:
assert builtins.isAttrs config;
assert builtins.isList overlays && builtins.all builtins.isFunction overlays;
assert crossOverlays == [ ] && crossSystem == localSystem;
let
  lib = import ./lib.nix;
  platform = lib.systems.elaborate localSystem;

  # Where a real build would start: the stand-in refuses to.
  builder = "/bin/sh";
  builderArgs = [
    "-c"
    "echo 'nix/offline/nixpkgs is an evaluation-only stand-in: build with the real nixpkgs' >&2; exit 1"
  ];

  # make-derivation.nix's checks on dependency lists: derivations, paths, strings or null.
  checkDeps =
    name: deps:
    map (
      dep:
      if lib.isDerivation dep || dep == null || builtins.isString dep || builtins.isPath dep then
        dep
      else if builtins.isList dep then
        checkDeps name dep
      else
        throw "stand-in mkDerivation: an element of ${name} is a ${builtins.typeOf dep}, not a derivation"
    ) deps;
  depAttrs = [
    "nativeBuildInputs"
    "buildInputs"
    "propagatedBuildInputs"
    "propagatedNativeBuildInputs"
    "depsBuildBuild"
    "depsBuildBuildPropagated"
    "depsBuildTarget"
    "depsBuildTargetPropagated"
    "depsHostHost"
    "depsHostHostPropagated"
    "depsTargetTarget"
    "depsTargetTargetPropagated"
    "checkInputs"
    "nativeCheckInputs"
  ];

  # stdenv.mkDerivation: a set or a function of the final attributes; `meta`, `passthru` and
  # `env` are handled as nixpkgs does, everything else goes into the derivation, where Nix
  # itself refuses what cannot become an environment variable.
  mkDerivation =
    argsOrFun:
    let
      attrs = if builtins.isFunction argsOrFun then argsOrFun final else argsOrFun;
      final = attrs // passthru;
      passthru = attrs.passthru or { };
      meta = attrs.meta or { };
      env = attrs.env or { };
      name =
        attrs.name or (
          if attrs ? pname && attrs ? version then
            "${attrs.pname}-${attrs.version}"
          else
            throw "stand-in mkDerivation: neither `name` nor `pname` and `version` given"
        );
      drvAttrs =
        removeAttrs attrs [
          "meta"
          "passthru"
          "env"
          "pos"
        ]
        // lib.genAttrs (builtins.filter (a: attrs ? ${a}) depAttrs) (a: checkDeps a attrs.${a})
        // {
          inherit name builder;
          system = platform.system;
          args = attrs.args or builderArgs;
          outputs = attrs.outputs or [ "out" ];
        };
      badEnv = lib.filterAttrs (
        _: v: !(lib.isDerivation v || builtins.isString v || builtins.isBool v || builtins.isInt v)
      ) env;
      overlapping = builtins.attrNames (builtins.intersectAttrs env drvAttrs);
      available = lib.meta.availableOn platform { inherit meta; };
      drv = derivation (drvAttrs // env);
    in
    assert lib.assertMsg (builtins.isAttrs env) "stand-in mkDerivation ${name}: `env` must be a set";
    assert lib.assertMsg (
      badEnv == { }
    ) "stand-in mkDerivation ${name}: `env` may hold only derivations, strings, booleans and integers, not ${toString (builtins.attrNames badEnv)}";
    assert lib.assertMsg (
      overlapping == [ ]
    ) "stand-in mkDerivation ${name}: `env` overlaps the derivation's attributes: ${toString overlapping}";
    assert lib.assertMsg available "stand-in mkDerivation ${name}: not available on ${platform.system} (meta.platforms)";
    builtins.deepSeq [
      meta
      env
      passthru
    ] (drv // passthru // { inherit meta passthru; });

  # A package the flake or crane only refers to: an empty derivation with the right name.
  package =
    pname: mainProgram:
    mkDerivation {
      inherit pname;
      version = "stand-in";
      meta = lib.optionalAttrs (mainProgram != null) { inherit mainProgram; };
    };

  stdenv = {
    inherit mkDerivation;
    inherit (platform) system;
    hostPlatform = platform;
    buildPlatform = platform;
    targetPlatform = platform;
    isLinux = platform.isLinux;
    cc = package "cc-wrapper" "cc" // {
      targetPrefix = "";
    };
    shellDryRun = "bash -n -O extglob";
  };

  # pkgs/build-support/trivial-builders: runCommand and runCommandLocal (via runCommandWith),
  # and writeText.
  runCommand =
    name: env: buildCommand:
    assert lib.assertMsg (builtins.isString buildCommand) "runCommand ${name}: the command must be a string";
    mkDerivation (
      {
        enableParallelBuilding = true;
        inherit buildCommand name;
        passAsFile = [ "buildCommand" ] ++ (env.passAsFile or [ ]);
      }
      // removeAttrs env [ "passAsFile" ]
    );
  runCommandLocal =
    name: env:
    runCommand name (
      env
      // {
        preferLocalBuild = true;
        allowSubstitutes = false;
      }
    );
  writeText =
    name: text:
    assert lib.assertMsg (builtins.isString text) "writeText ${name}: the text must be a string";
    runCommand name {
      inherit text;
      passAsFile = [ "text" ];
    } "cp \"$textPath\" \"$out\"";

  # pkgs/build-support/fetchurl: a fixed-output derivation, so Nix parses the hash for real.
  fetchurl =
    {
      url ? null,
      urls ? [ ],
      name ? baseNameOf (if url != null then url else builtins.head urls),
      hash ? "",
      sha256 ? "",
      ...
    }@args:
    assert lib.assertMsg ((url != null) != (urls != [ ])) "fetchurl: give exactly one of url and urls";
    assert lib.assertMsg ((hash != "") != (sha256 != "")) "fetchurl ${name}: give exactly one of hash and sha256";
    builtins.deepSeq args (derivation {
      inherit name builder;
      inherit (platform) system;
      args = builderArgs;
      urls = if url != null then [ url ] else urls;
      outputHashMode = "flat";
      outputHashAlgo = if hash != "" then null else "sha256";
      outputHash = if hash != "" then hash else sha256;
    });

  # pkgs/build-support/trivial-builders: makeSetupHook { ... } ./script.sh
  makeSetupHook =
    {
      name ? lib.warn "calling makeSetupHook without passing a name is deprecated." "hook",
      propagatedBuildInputs ? [ ],
      depsTargetTargetPropagated ? [ ],
      meta ? { },
      passthru ? { },
      substitutions ? { },
    }:
    script:
    assert lib.assertMsg (builtins.pathExists script) "makeSetupHook ${name}: ${toString script} does not exist";
    runCommand name (
      substitutions
      // {
        inherit
          meta
          passthru
          propagatedBuildInputs
          depsTargetTargetPropagated
          ;
        strictDeps = true;
        hook = script;
      }
    ) "substituteAll \"$hook\" \"$out/nix-support/setup-hook\"";

  # pkgs/build-support/mkshell, as nixpkgs has it: `inputsFrom` must be derivations (their
  # inputs are read with lib.catAttrs, which fails on anything but a set).
  mkShell =
    {
      name ? "nix-shell",
      packages ? [ ],
      inputsFrom ? [ ],
      ...
    }@attrs:
    let
      mergeInputs =
        input:
        (attrs.${input} or [ ])
        ++ (lib.subtractLists inputsFrom (lib.flatten (lib.catAttrs input inputsFrom)));
      rest = removeAttrs attrs [
        "name"
        "packages"
        "inputsFrom"
        "buildInputs"
        "nativeBuildInputs"
        "propagatedBuildInputs"
        "propagatedNativeBuildInputs"
        "shellHook"
      ];
    in
    mkDerivation (
      {
        inherit name;
        buildInputs = mergeInputs "buildInputs";
        nativeBuildInputs = packages ++ (mergeInputs "nativeBuildInputs");
        propagatedBuildInputs = mergeInputs "propagatedBuildInputs";
        propagatedNativeBuildInputs = mergeInputs "propagatedNativeBuildInputs";
        shellHook = lib.concatStringsSep "\n" (
          lib.catAttrs "shellHook" (lib.reverseList inputsFrom ++ [ attrs ])
        );
        phases = [ "buildPhase" ];
        buildPhase = "export >> \"$out\"";
        preferLocalBuild = true;
      }
      // rest
    );

  # pkgs/build-support/docker: buildLayeredImage takes streamLayeredImage's arguments (the closed
  # set below, as documented in doc/build-helpers/images/dockertools.section.md) and writes a
  # gzipped Docker archive named NAME.tar.gz. The stand-in also carries the arguments it was
  # given as `standInArgs`, so tests can read the image's configuration by evaluation; the real
  # function has no such attribute.
  dockerTools.buildLayeredImage =
    {
      name,
      tag ? null,
      fromImage ? null,
      contents ? [ ],
      config ? { },
      architecture ? platform.go.GOARCH or null,
      created ? "1970-01-01T00:00:01Z",
      mtime ? "1970-01-01T00:00:01Z",
      uid ? 0,
      gid ? 0,
      uname ? "root",
      gname ? "root",
      maxLayers ? 100,
      extraCommands ? "",
      fakeRootCommands ? "",
      enableFakechroot ? false,
      includeStorePaths ? true,
      includeNixDB ? false,
      passthru ? { },
      compressor ? "gz",
    }@args:
    assert lib.assertMsg (builtins.isString name) "buildLayeredImage: name must be a string";
    assert lib.assertMsg (tag == null || builtins.isString tag) "buildLayeredImage ${name}: tag must be a string or null";
    assert lib.assertMsg (builtins.isAttrs config) "buildLayeredImage ${name}: config must be a set";
    assert lib.assertMsg (builtins.isString created) "buildLayeredImage ${name}: created must be a string";
    assert lib.assertMsg (maxLayers > 1) "buildLayeredImage ${name}: maxLayers must be greater than 1";
    assert lib.assertMsg (builtins.elem compressor [
      "none"
      "gz"
      "zstd"
    ]) "buildLayeredImage ${name}: unknown compressor ${compressor}";
    builtins.deepSeq args (
      runCommand "${baseNameOf name}.tar.gz" {
        imageName = lib.toLower name;
        # The configuration, as the real conf.json carries it (with the store paths it names).
        imageConfig = builtins.toJSON {
          inherit config created architecture;
          os = "linux";
        };
        contents = lib.toList contents;
        inherit
          fromImage
          mtime
          uid
          gid
          uname
          gname
          maxLayers
          extraCommands
          fakeRootCommands
          enableFakechroot
          includeStorePaths
          includeNixDB
          ;
        nativeBuildInputs = [ pigz ];
        passthru = passthru // {
          imageTag = tag;
          standInArgs = args;
        };
      } "stream | pigz -nTR > $out"
    );

  pigz = package "pigz" "pigz";

  # pkgs/top-level/stage.nix: pkgsStatic cross-compiles to this CPU's musl, static
  # (`crossSystem = { isStatic = true; config = <cpu>-unknown-linux-musl; }` on Linux). Only its
  # stdenv is reproduced: a cross stdenv whose compiler, as cc-wrapper names it, carries the
  # target's triple as `targetPrefix` (cc-wrapper: `targetPlatform.config + "-"` when the target
  # is not the host).
  pkgsStatic =
    assert lib.assertMsg platform.isLinux "stand-in pkgsStatic: only Linux is reproduced";
    let
      static = lib.systems.elaborate {
        config = "${platform.parsed.cpu.name}-unknown-linux-musl";
        isStatic = true;
      };
    in
    {
      stdenv = stdenv // {
        hostPlatform = static;
        targetPlatform = static;
        cc = package "${static.config}-gcc-wrapper" "${static.config}-cc" // {
          targetPrefix = "${static.config}-";
        };
      };
    };

  # pkgs/top-level/splice.nix: without cross-compilation, splicing returns the host package set.
  splicePackages = args: args.pkgsHostTarget;

  base = self: {
    inherit
      lib
      stdenv
      runCommand
      runCommandLocal
      writeText
      fetchurl
      makeSetupHook
      mkShell
      dockerTools
      splicePackages
      pigz
      pkgsStatic
      ;
    inherit (platform) system;
    pkgs = self;
    buildPackages = self;
    pkgsBuildBuild = self;
    pkgsBuildHost = self;
    pkgsBuildTarget = self;
    pkgsHostHost = self;
    pkgsHostTarget = self;
    pkgsTargetTarget = self;
    callPackage = lib.callPackageWith self;
    newScope = extra: lib.callPackageWith (self // extra);
    "makeScopeWithSplicing'" = lib.makeScopeWithSplicing' {
      inherit (self) splicePackages newScope;
    };
    # crane's craneUtils (writeTOML) builds a small Rust program with rustPlatform.
    rustPlatform.buildRustPackage =
      {
        pname,
        version,
        src,
        cargoLock,
        ...
      }@args:
      assert lib.assertMsg (builtins.pathExists cargoLock.lockFile) "buildRustPackage ${pname}: no ${toString cargoLock.lockFile}";
      mkDerivation (
        removeAttrs args [ "cargoLock" ]
        // {
          inherit pname version src;
          cargoLockFile = cargoLock.lockFile;
        }
      );
    writableTmpDirAsHomeHook = package "writable-tmpdir-as-home-hook" null;

    # Packages crane's library and nix/shell.nix take by name, and the formatter.
    jq = package "jq" "jq";
    zstd = package "zstd" "zstd";
    rsync = package "rsync" "rsync";
    remarshal = package "remarshal" "remarshal";
    taplo = package "taplo" "taplo";
    cargo-audit = package "cargo-audit" "cargo-audit";
    cargo-deny = package "cargo-deny" "cargo-deny";
    cargo-nextest = package "cargo-nextest" "cargo-nextest";
    cargo-llvm-cov = package "cargo-llvm-cov" "cargo-llvm-cov";
    cargo-tarpaulin = package "cargo-tarpaulin" "cargo-tarpaulin";
    binaryen = package "binaryen" "wasm-opt";
    dart-sass = package "dart-sass" "sass";
    trunk = package "trunk" "trunk";
    wasm-bindgen-cli = package "wasm-bindgen-cli" "wasm-bindgen";
    rust-analyzer = package "rust-analyzer" "rust-analyzer";
    wrk = package "wrk" "wrk";
    flyctl = package "flyctl" "flyctl";
    skopeo = package "skopeo" "skopeo";
    # nixpkgs' nixfmt-tree is treefmt configured to run nixfmt on every *.nix file.
    nixfmt-tree = package "nixfmt-tree" "treefmt";
    # nixpkgs' own toolchain, which crane uses until overrideToolchain replaces it.
    cargo = package "cargo" "cargo";
    rustc = package "rustc" "rustc";
    clippy = package "clippy" "cargo-clippy";
    rustfmt = package "rustfmt" "rustfmt";
  };
in
lib.fix (builtins.foldl' (f: overlay: lib.extends overlay f) base overlays)
