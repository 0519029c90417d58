# The crate, built with crane: its source, its dependencies and its binary.
#
# Everything is built for the musl target and linked statically, so the binary runs on any Linux
# and the container image needs nothing beside it. The checks and the dev shell reuse `craneLib`,
# `commonArgs` and `cargoArtifacts` from here, so dependencies are built once.
{
  # from nixpkgs
  lib,
  pkgs,
  stdenv,
  # from the flake
  crane,
  src,
  revision,
}:
let
  # e.g. x86_64-unknown-linux-musl on x86_64-linux, aarch64-unknown-linux-musl on aarch64-linux.
  target = "${stdenv.hostPlatform.parsed.cpu.name}-unknown-linux-musl";

  # The toolchain rust-toolchain.toml names, the one cargo uses outside Nix, plus the musl
  # target (which that file cannot list: rustup would try to download it).
  craneLib = (crane.mkLib pkgs).overrideToolchain (
    p:
    (p.rust-bin.fromRustupToolchainFile (src + "/rust-toolchain.toml")).override (old: {
      targets = old.targets ++ [ target ];
    })
  );

  # Cargo's files plus every TOML file (deny.toml and .cargo/audit.toml configure the checks,
  # and the tests read fly.toml), plus the few other files the build and the tests read:
  # commonCargoSources keeps only *.rs, *.toml and Cargo.lock.
  cleanSrc = lib.fileset.toSource {
    root = src;
    fileset = lib.fileset.unions [
      (craneLib.fileset.commonCargoSources src)
      # include_str!'d by the status page (src/monitor/status/mod.rs).
      (src + "/src/monitor/status/status.css")
      # Read at run time: the TLS tests' CA, certificate and key, and the format-1 store the
      # migration tests open.
      (src + "/tests/fixtures")
    ];
  };

  # The C compiler for the target: the global allocator (src/main.rs) is C, compiled by the cc
  # crate in its build script. pkgsStatic is nixpkgs' cross stdenv for this CPU's musl, static
  # (stage.nix: crossSystem `<cpu>-unknown-linux-musl`, isStatic); the stdenv's own compiler
  # targets glibc. cc-wrapper names its compiler `<targetPrefix>cc` (targetPrefix: the target's
  # triple and "-" when it is not the host), e.g. x86_64-unknown-linux-musl-cc. The full path, so
  # nothing depends on PATH.
  #
  # The linker stays cargo's default, the stdenv's `cc` (as crane's cross-musl example has it):
  # with +crt-static rustc links the musl target self-contained (-nostartfiles -nodefaultlibs),
  # taking the crt objects, libc.a and libunwind.a from the toolchain's target, so that `cc` only
  # drives ld. The C objects are built against nixpkgs' musl headers; musl's ABI is the same.
  # crane's own cross set-up (lib/mkCrossToolchainEnv.nix) would set CARGO_TARGET_<T>_LINKER as
  # well, but only when crane itself cross-compiles, which this flake does not.
  muslCc = "${pkgs.pkgsStatic.stdenv.cc}/bin/${pkgs.pkgsStatic.stdenv.cc.targetPrefix}cc";

  commonArgs = {
    src = cleanSrc;
    strictDeps = true;
    CARGO_BUILD_TARGET = target;
    CARGO_BUILD_RUSTFLAGS = "-C target-feature=+crt-static";
    # What the cc crate (1.11, `target_envs`) reads, first to last: CC_<target> as is (a name
    # with dashes, which the shell cannot export), CC_<target> with underscores, TARGET_CC (the
    # build is a cross build: cargo's host is glibc), then CC (the stdenv's, for glibc). The
    # second and the third, as crane's mkCrossToolchainEnv sets them for a cross target.
    "CC_${builtins.replaceStrings [ "-" ] [ "_" ] target}" = muslCc;
    TARGET_CC = muslCc;
    # mimalloc's C at -O3, not at the -Os of the dependencies' opt-level "s": the cc crate puts
    # CFLAGS_<target> after its own flags (README, "Performance"). As .ci/build-musl sets it.
    "CFLAGS_${builtins.replaceStrings [ "-" ] [ "_" ] target}" = "-O3";
  };

  # The dependencies alone, so a change to our code rebuilds only our code.
  cargoArtifacts = craneLib.buildDepsOnly commonArgs;

  package = craneLib.buildPackage (
    commonArgs
    // {
      inherit cargoArtifacts;
      # The tests run once, in the nextest check.
      doCheck = false;
      # Reported as build_info{revision}; set here only, so the dependencies stay cached.
      HEALTH_SERVICE_REVISION = revision;
      # A static binary refers to nothing in the store: this keeps it so, and the image minimal.
      allowedReferences = [ ];
      meta = {
        description = "A small HTTP service that reports its own health";
        license = lib.licenses.mit;
        mainProgram = "health-service";
        platforms = lib.platforms.linux;
      };
    }
  );
  manifest = builtins.fromTOML (builtins.readFile (src + "/Cargo.toml"));
in
{
  # Where the source lives, for the image's org.opencontainers.image.source label.
  inherit (manifest.package) repository;
  inherit
    craneLib
    commonArgs
    cargoArtifacts
    package
    revision
    ;
  src = cleanSrc;
}
