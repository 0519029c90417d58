# The container image Fly.io runs (a gzipped Docker archive, as `docker save` writes): the static
# binary and nothing else (no shell, no coreutils).
{
  # from nixpkgs
  lib,
  dockerTools,
  # from the flake
  crate,
  lastModifiedDate,
}:
let
  inherit (crate) package revision;
  seconds = n: n * 1000000000; # Docker's health-check durations are nanoseconds.
  # "20260828123456" -> "2026-08-28T12:34:56Z"
  at = start: len: builtins.substring start len lastModifiedDate;
  created = "${at 0 4}-${at 4 2}-${at 6 2}T${at 8 2}:${at 10 2}:${at 12 2}Z";
in
dockerTools.buildLayeredImage {
  name = "health-service";
  tag = package.version;
  # A fixed date (the commit's), never "now", so two builds of one commit are bit-identical.
  inherit created;
  # No contents: the entrypoint's closure, the binary alone, is the whole image.
  config = {
    Entrypoint = [ (lib.getExe package) ];
    # nobody:nogroup, numeric so no /etc/passwd is needed.
    User = "65534:65534";
    ExposedPorts = {
      "8080/tcp" = { }; # PORT
      "9091/tcp" = { }; # METRICS_PORT
    };
    # Exec form: the image has no shell to run a command string.
    Healthcheck = {
      Test = [
        "CMD"
        (lib.getExe package)
        "healthcheck"
      ];
      Interval = seconds 10;
      Timeout = seconds 5;
      StartPeriod = seconds 5;
      Retries = 3;
    };
    Labels = {
      "org.opencontainers.image.title" = "health-service";
      "org.opencontainers.image.description" = package.meta.description;
      "org.opencontainers.image.source" = crate.repository;
      "org.opencontainers.image.revision" = revision;
      "org.opencontainers.image.version" = package.version;
      "org.opencontainers.image.licenses" = "MIT";
    };
  };
}
