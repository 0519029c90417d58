//! fly.toml and fly.monitor.toml held to flyctl's own rules, read from flyctl's source at the
//! version deploy.yml installs (.github/flyctl.toml): `internal/appconfig/validation.go` (`Config.Validate`, which
//! `flyctl deploy` runs on every deploy, `--image` included, and `flyctl config validate`) and
//! what it calls, the conversion of a config to each process group's machine config
//! (`machines.go`, `processgroups.go`), and fly-go v0.9.5's types. Each rule names the function it
//! mirrors; where a rule is stricter than flyctl (a warning held as an error, a value flyctl would
//! silently rewrite or drop), its doc says so. Each rule has a config that breaks it, and the rule
//! must refuse that config.
//!
//! deploy.rs holds the same files against the binary; this module holds them against flyctl, and
//! deploy.yml's step timeouts against flyctl's waits.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_yaml::Value as Yaml;
use toml::{Table, Value};

use crate::helpers::{repo_file, repo_path};

/// The flyctl version whose source the rules below were read from.
const WRITTEN_AGAINST: &str = "0.4.87";

fn parse(text: &str) -> Table {
    text.parse()
        .unwrap_or_else(|e| panic!("not TOML: {e}\n{text}"))
}

/// The two Fly configs of the repository, by name.
fn configs() -> [(&'static str, Table); 2] {
    [
        ("fly.toml", parse(&repo_file("fly.toml"))),
        ("fly.monitor.toml", parse(&repo_file("fly.monitor.toml"))),
    ]
}

/// What a rule found wrong with a config: one line per finding, empty when it holds.
type Findings = Vec<String>;

/// A rule: its name, the flyctl function it mirrors, and the check.
struct Rule {
    name: &'static str,
    mirrors: &'static str,
    check: fn(&Table) -> Findings,
}

const RULES: &[Rule] = &[
    Rule {
        name: "one build strategy",
        mirrors: "validation.go validateBuildStrategies",
        check: build_strategies,
    },
    Rule {
        name: "deploy section",
        mirrors: "validation.go validateDeploySection",
        check: deploy_section,
    },
    Rule {
        name: "top-level checks",
        mirrors: "validation.go validateChecksSection; machines.go updateMachineConfig",
        check: top_level_checks,
    },
    Rule {
        name: "services name their process groups",
        mirrors: "validation.go validateServicesSection",
        check: services_processes,
    },
    Rule {
        name: "services expose ports",
        mirrors: "validation.go validateServicesSection",
        check: services_ports,
    },
    Rule {
        name: "service check durations",
        mirrors: "validation.go validateServiceCheckDurations",
        check: service_check_durations,
    },
    Rule {
        name: "process commands split",
        mirrors: "validation.go validateProcessesSection; processgroups.go InitCmd",
        check: process_commands,
    },
    Rule {
        name: "console command splits",
        mirrors: "validation.go validateConsoleCommand",
        check: console_command,
    },
    Rule {
        name: "mounts",
        mirrors: "validation.go validateMounts",
        check: mounts,
    },
    Rule {
        name: "restart policies",
        mirrors: "validation.go validateRestartPolicy; machines.go parseRestartPolicy",
        check: restart_policies,
    },
    Rule {
        name: "compression",
        mirrors: "validation.go validateCompression (flag/validation/compression.go)",
        check: compression,
    },
    Rule {
        name: "VM sizes",
        mirrors: "machines.go computeToGuest; fly-go SetSize; machine/update.go Update",
        check: vm_sizes,
    },
    Rule {
        name: "sections name existing process groups",
        mirrors: "processgroups.go Flatten, flattenGroupsMatch",
        check: groups_exist,
    },
    Rule {
        name: "every section names its process group",
        mirrors: "processgroups.go Flatten (issue 16)",
        check: groups_named,
    },
    Rule {
        name: "one [metrics] per process group",
        mirrors: "machines.go updateMachineConfig",
        check: metrics_per_group,
    },
    Rule {
        name: "files",
        mirrors: "config.go File.toMachineFile; fly-go MergeFiles",
        check: files,
    },
    Rule {
        name: "durations",
        mirrors: "fly-go Duration.ParseDuration; patches.go _castDuration",
        check: durations,
    },
    Rule {
        name: "only keys flyctl knows",
        mirrors: "strict_validate.go StrictValidate (`flyctl config validate --strict`)",
        check: known_keys,
    },
    Rule {
        name: "bluegreen has a check",
        mirrors: "deploy/strategy_bluegreen.go blueGreen.Deploy",
        check: bluegreen_checks,
    },
];

fn rule(name: &str) -> &'static Rule {
    RULES
        .iter()
        .find(|rule| rule.name == name)
        .unwrap_or_else(|| panic!("no rule named {name}"))
}

// ---- reading a config as flyctl does --------------------------------------------------------

fn str_of<'a>(table: &'a Table, key: &str) -> Option<&'a str> {
    table.get(key).and_then(Value::as_str)
}

/// A section that flyctl accepts as one table or an array of tables (`ensureArrayOfMap` in
/// patches.go), under any of its names (`[[mount]]` and `[[mounts]]`, `[vm]` and `[[compute]]`).
fn sections<'a>(config: &'a Table, names: &[&str]) -> Vec<&'a Table> {
    let mut found = Vec::new();
    for name in names {
        match config.get(*name) {
            Some(Value::Table(table)) => found.push(table),
            Some(Value::Array(items)) => found.extend(items.iter().filter_map(Value::as_table)),
            _ => {}
        }
    }
    found
}

fn mount_sections(config: &Table) -> Vec<&Table> {
    sections(config, &["mount", "mounts"])
}

fn metrics_sections(config: &Table) -> Vec<&Table> {
    sections(config, &["metric", "metrics"])
}

fn vm_sections(config: &Table) -> Vec<&Table> {
    sections(config, &["compute", "computes", "vm"])
}

/// `[processes]`'s group names (`Config.Processes`).
fn declared_groups(config: &Table) -> Vec<String> {
    config
        .get("processes")
        .and_then(Value::as_table)
        .map(|table| table.keys().cloned().collect())
        .unwrap_or_default()
}

/// `ProcessNames`: the declared groups, or `app` when there are none.
fn process_names(config: &Table) -> Vec<String> {
    let declared = declared_groups(config);
    if declared.is_empty() {
        vec!["app".to_owned()]
    } else {
        declared
    }
}

/// `DefaultProcessName`: `app` if it is a group, else the first in lexicographic order.
fn default_group(config: &Table) -> String {
    let mut names = process_names(config);
    names.sort();
    if names.iter().any(|name| name == "app") {
        "app".to_owned()
    } else {
        names.swap_remove(0)
    }
}

/// A section's `processes`, as flyctl reads it.
fn processes_of(section: &Table) -> Vec<String> {
    section
        .get("processes")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|item| item.as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// `flattenGroupsMatch`: whether a section with these `processes` goes to `group`'s machines.
fn goes_to(config: &Table, processes: &[String], group: &str) -> bool {
    if processes.is_empty() {
        group == default_group(config)
    } else {
        processes.iter().any(|name| name == group)
    }
}

/// Every section that `Flatten` hands to process groups by its `processes`, with a label.
fn group_sections(config: &Table) -> Vec<(String, &Table)> {
    let mut found = Vec::new();
    if let Some(service) = config.get("http_service").and_then(Value::as_table) {
        found.push(("[http_service]".to_owned(), service));
    }
    let lists: [(&str, Vec<&Table>); 6] = [
        ("[[services]]", sections(config, &["services"])),
        ("[[mounts]]", mount_sections(config)),
        ("[[files]]", sections(config, &["files"])),
        ("[metrics]", metrics_sections(config)),
        ("[[restart]]", sections(config, &["restart"])),
        ("[[vm]]", vm_sections(config)),
    ];
    for (label, tables) in lists {
        found.extend(tables.into_iter().map(|table| (label.to_owned(), table)));
    }
    if let Some(checks) = config.get("checks").and_then(Value::as_table) {
        for (name, check) in checks {
            if let Some(check) = check.as_table() {
                found.push((format!("[checks.{name}]"), check));
            }
        }
    }
    found
}

/// `AllServices`: `[http_service]` (as a service) and every `[[services]]`.
fn all_services(config: &Table) -> Vec<&Table> {
    let mut services: Vec<&Table> = config
        .get("http_service")
        .and_then(Value::as_table)
        .into_iter()
        .collect();
    services.extend(sections(config, &["services"]));
    services
}

/// A service's HTTP and TCP checks: `[[http_service.checks]]`, or `http_checks` and
/// `tcp_checks` of a `[[services]]`.
fn service_checks(service: &Table) -> Vec<&Table> {
    let mut checks = sections(service, &["checks", "http_checks", "tcp_checks"]);
    checks.retain(|check| !check.is_empty());
    checks
}

/// google/shlex's `Split`, which flyctl uses for every command: words split on spaces, `'...'`
/// literal, `"..."` with backslash escapes, `\` escaping one character, `#` starting a comment
/// at the start of a word. Errors as shlex does on a quote or an escape left open.
fn shlex_split(text: &str) -> Result<Vec<String>, &'static str> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        Start,
        Word,
        Escaping,
        EscapingQuoted,
        QuotingEscaping,
        Quoting,
        Comment,
    }
    let is_space = |c: char| matches!(c, ' ' | '\t' | '\r' | '\n');
    let mut words = Vec::new();
    let mut word = String::new();
    let mut state = State::Start;
    for c in text.chars() {
        state = match (state, c) {
            (State::Start, c) if is_space(c) => State::Start,
            (State::Start, '#') => State::Comment,
            (State::Comment, '\n') => State::Start,
            (State::Comment, _) => State::Comment,
            (State::Start | State::Word, '"') => State::QuotingEscaping,
            (State::Start | State::Word, '\'') => State::Quoting,
            (State::Start | State::Word, '\\') => State::Escaping,
            (State::Word, c) if is_space(c) => {
                words.push(std::mem::take(&mut word));
                State::Start
            }
            (State::Start | State::Word | State::Escaping, c) => {
                word.push(c);
                State::Word
            }
            (State::QuotingEscaping, '"') | (State::Quoting, '\'') => State::Word,
            (State::QuotingEscaping, '\\') => State::EscapingQuoted,
            (State::QuotingEscaping | State::EscapingQuoted, c) => {
                word.push(c);
                State::QuotingEscaping
            }
            (State::Quoting, c) => {
                word.push(c);
                State::Quoting
            }
        };
    }
    match state {
        State::Start | State::Comment => Ok(words),
        State::Word => {
            words.push(word);
            Ok(words)
        }
        State::Escaping | State::EscapingQuoted => Err("EOF found after escape character"),
        State::QuotingEscaping | State::Quoting => Err("EOF found when expecting closing quote"),
    }
}

/// Go's `time.ParseDuration`: one or more decimal numbers each with a unit (`ns`, `us`, `µs`,
/// `ms`, `s`, `m`, `h`), an optional sign, or a bare `0`. Stricter than Go, which accepts a
/// negative duration (and flyctl passes it on): refused here, as no duration of a Fly config
/// means anything below zero.
fn go_duration(text: &str) -> Result<Duration, String> {
    let invalid = || format!("time: invalid duration \"{text}\"");
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    if text.starts_with('-') && unsigned != "0" {
        return Err(format!("{text} is negative"));
    }
    if unsigned == "0" {
        return Ok(Duration::ZERO);
    }
    if unsigned.is_empty() {
        return Err(invalid());
    }
    let mut rest = unsigned;
    let mut seconds = 0.0_f64;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(invalid)?;
        let (number, tail) = rest.split_at(number_len);
        if number.is_empty() || number == "." {
            return Err(invalid());
        }
        let value: f64 = number.parse().map_err(|_| invalid())?;
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let scale = match unit {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "" => return Err(format!("time: missing unit in duration \"{text}\"")),
            _ => {
                return Err(format!(
                    "time: unknown unit \"{unit}\" in duration \"{text}\""
                ));
            }
        };
        seconds += value * scale;
        rest = tail;
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// A duration field as flyctl reads it. Strings go through Go's parser; numbers are accepted by
/// flyctl in a unit that depends on the field (patches.go: seconds for `kill_timeout`,
/// milliseconds for a `[[services]]` or top-level check's; nanoseconds, fly-go's `Duration`
/// unpatched, for `wait_timeout`, `release_command_timeout` and an `[[http_service.checks]]`'s),
/// so they are refused here: a string says its unit.
fn duration_field(value: &Value) -> Result<Duration, String> {
    match value {
        Value::String(text) => go_duration(text),
        other => Err(format!(
            "{other} is a number, which flyctl reads as seconds, milliseconds or nanoseconds \
             depending on the field: write a duration string such as \"5s\""
        )),
    }
}

/// go-units v0.5.0's `parseSize` (`FromHumanSize` with decimal multiples, `RAMInBytes` with
/// binary ones): a number, an optional space, then `b`, or `k`/`m`/`g`/`t`/`p` optionally
/// followed by `b` or `ib`, in any case.
fn go_units_size(text: &str, binary: bool) -> Result<f64, String> {
    let invalid = || format!("invalid size: '{text}'");
    let split = text
        .rfind(|c: char| c.is_ascii_digit() || c == '.' || c == ' ')
        .ok_or_else(invalid)?;
    let (number, suffix) = if text.as_bytes()[split] == b' ' {
        (&text[..split], &text[split + 1..])
    } else {
        (&text[..=split], &text[split + 1..])
    };
    let size: f64 = number.parse().map_err(|_| invalid())?;
    if size < 0.0 {
        return Err(invalid());
    }
    let suffix = suffix.to_ascii_lowercase();
    let bad_suffix = || format!("invalid suffix: '{suffix}'");
    if suffix.is_empty() || suffix == "b" {
        return Ok(size);
    }
    let base: f64 = if binary { 1024.0 } else { 1000.0 };
    let power = match suffix.as_bytes()[0] {
        b'k' => 1,
        b'm' => 2,
        b'g' => 3,
        b't' => 4,
        b'p' => 5,
        _ => return Err(bad_suffix()),
    };
    if !matches!(&suffix[1..], "" | "b" | "ib") {
        return Err(bad_suffix());
    }
    Ok(size * base.powi(power))
}

/// helpers.ParseSize: a bare integer is already in `unit`, anything else is parsed by go-units
/// and divided by `unit` (integer division, as Go's).
fn parse_size(value: &Value, binary: bool, unit: f64) -> Result<i64, String> {
    let text = match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    if let Ok(whole) = text.parse::<i64>() {
        return Ok(whole);
    }
    let bytes = go_units_size(&text, binary)?;
    Ok((bytes.trunc() / unit).trunc() as i64)
}

const GB: f64 = 1e9;
const MIB: f64 = 1024.0 * 1024.0;

// ---- the rules ------------------------------------------------------------------------------

/// `validateBuildStrategies`: flyctl warns (and reports to Sentry, "then make it fail
/// validation") when `[build]` names more than one way to get an image; held as an error.
fn build_strategies(config: &Table) -> Findings {
    let Some(build) = config.get("build").and_then(Value::as_table) else {
        return vec![];
    };
    let set = |key: &str| str_of(build, key).is_some_and(|v| !v.is_empty());
    let strategies: Vec<&str> = [
        ("image", set("image")),
        (
            "buildpacks",
            // `len(c.Build.Buildpacks) > 0`: an empty list names no buildpack.
            set("builder")
                || build
                    .get("buildpacks")
                    .and_then(Value::as_array)
                    .is_some_and(|list| !list.is_empty()),
        ),
        (
            "dockerfile",
            set("dockerfile") || set("build-target") || set("build_target"),
        ),
        ("builtin", set("builtin")),
    ]
    .into_iter()
    .filter_map(|(name, on)| on.then_some(name))
    .collect();
    if strategies.len() > 1 {
        vec![format!(
            "more than one build configuration found: [{}]",
            strategies.join(", ")
        )]
    } else {
        vec![]
    }
}

/// `validateDeploySection`: the release command splits, the strategy is one flyctl knows, and
/// `canary` is refused with mounts.
fn deploy_section(config: &Table) -> Findings {
    let Some(deploy) = config.get("deploy").and_then(Value::as_table) else {
        return vec![];
    };
    let mut findings = vec![];
    if let Some(command) = str_of(deploy, "release_command")
        && let Err(e) = shlex_split(command)
    {
        findings.push(format!(
            "Can't shell split release command: '{command}' ({e})"
        ));
    }
    if let Some(strategy) = str_of(deploy, "strategy").filter(|s| !s.is_empty()) {
        const STRATEGIES: [&str; 4] = ["canary", "rolling", "immediate", "bluegreen"];
        if !STRATEGIES.contains(&strategy) {
            findings.push(format!(
                "unsupported deployment strategy '{strategy}'; Apps v2 supports the following \
                 strategies: {}",
                STRATEGIES.join(", ")
            ));
        }
        if strategy == "canary" && !mount_sections(config).is_empty() {
            findings.push(
                "error canary deployment strategy is not supported when using mounted volumes"
                    .to_owned(),
            );
        }
    }
    findings
}

/// `validateChecksSection`: a top-level check's type is `http` or `tcp`, its interval at least
/// 2 s and its timeout at most 60 s; and `updateMachineConfig` refuses one without a `port` in a
/// group without `[http_service]` to take it from.
fn top_level_checks(config: &Table) -> Findings {
    let Some(checks) = config.get("checks").and_then(Value::as_table) else {
        return vec![];
    };
    let mut findings = vec![];
    for (name, check) in checks {
        let Some(check) = check.as_table() else {
            findings.push(format!("check '{name}' is not a table"));
            continue;
        };
        if !matches!(str_of(check, "type"), Some("http" | "tcp")) {
            findings.push(format!(
                "Can't process top level check '{name}': Missing or invalid check type, must be \
                 'http' or 'tcp'"
            ));
        }
        let duration = |key: &str| check.get(key).map(duration_field);
        if let Some(Ok(interval)) = duration("interval")
            && interval < Duration::from_secs(2)
        {
            findings.push(format!(
                "Check '{name}' interval is too short: {interval:?}, minimum is 2 seconds"
            ));
        }
        if let Some(Ok(timeout)) = duration("timeout")
            && timeout > Duration::from_secs(60)
        {
            findings.push(format!(
                "Check '{name}' timeout is too long: {timeout:?}, maximum is 60 seconds"
            ));
        }
        if check.get("port").is_none() {
            let http_service = config.get("http_service").and_then(Value::as_table);
            for group in process_names(config) {
                if goes_to(config, &processes_of(check), &group)
                    && !http_service.is_some_and(|s| goes_to(config, &processes_of(s), &group))
                {
                    findings.push(format!(
                        "Check '{name}' for process group '{group}' has no port set and the \
                         group has no http_service to take it from"
                    ));
                }
            }
        }
    }
    findings
}

/// `validateServicesSection`: once `[processes]` declares a group, every service names its
/// groups, and only declared ones.
fn services_processes(config: &Table) -> Findings {
    let declared = declared_groups(config);
    let names = process_names(config);
    let mut findings = vec![];
    for service in all_services(config) {
        let processes = processes_of(service);
        if processes.is_empty() && !declared.is_empty() {
            findings.push(format!(
                "Service has no processes set but app has {} processes defined; update fly.toml \
                 to set processes for each service",
                declared.len()
            ));
        }
        for name in processes.iter().filter(|name| !names.contains(name)) {
            findings.push(format!(
                "Service specifies '{name}' as one of its processes, but no processes are \
                 defined with that name"
            ));
        }
    }
    findings
}

/// `validateServicesSection`: a `[[services]]` exposes at least one port. flyctl warns, and says
/// the warning "will hard fail"; held as an error. (`[http_service]` always has 80 and 443.)
fn services_ports(config: &Table) -> Findings {
    sections(config, &["services"])
        .into_iter()
        .filter(|service| sections(service, &["ports"]).is_empty())
        .map(|service| {
            format!(
                "Service must expose at least one port (internal_port {})",
                service
                    .get("internal_port")
                    .map_or("?".into(), Value::to_string)
            )
        })
        .collect()
}

/// `validateServiceCheckDurations`: flyctl raises a service check's interval or timeout under
/// 1 s (and a grace period between 0 and 1 s) to 1 s, and lowers any over 1 minute to 1 minute,
/// with a warning. Held as errors: the config must mean what Fly runs.
fn service_check_durations(config: &Table) -> Findings {
    let mut findings = vec![];
    for service in all_services(config) {
        for check in service_checks(service) {
            for (key, zero_ok) in [
                ("interval", false),
                ("timeout", false),
                ("grace_period", true),
            ] {
                let Some(Ok(value)) = check.get(key).map(duration_field) else {
                    continue;
                };
                let low = if zero_ok {
                    !value.is_zero() && value < Duration::from_secs(1)
                } else {
                    value < Duration::from_secs(1)
                };
                if low {
                    findings.push(format!(
                        "check {key} {value:?} is under 1 second; flyctl raises it to 1 second"
                    ));
                } else if value > Duration::from_secs(60) {
                    findings.push(format!(
                        "check {key} {value:?} is over 1 minute; flyctl lowers it to 1 minute"
                    ));
                }
            }
        }
    }
    findings
}

/// `validateProcessesSection` (and `InitCmd` when a machine config is built): every process
/// command splits as a shell would.
fn process_commands(config: &Table) -> Findings {
    let Some(processes) = config.get("processes").and_then(Value::as_table) else {
        return vec![];
    };
    processes
        .iter()
        .filter_map(|(name, command)| {
            let command = command.as_str()?;
            shlex_split(command).err().map(|e| {
                format!(
                    "Could not parse command for '{name}' process group; check [processes] \
                     section: {e}"
                )
            })
        })
        .collect()
}

/// `validateConsoleCommand`: `console_command` splits as a shell would.
fn console_command(config: &Table) -> Findings {
    str_of(config, "console_command")
        .and_then(|command| {
            shlex_split(command)
                .err()
                .map(|e| format!("Can't shell split console command: '{command}' ({e})"))
        })
        .into_iter()
        .collect()
}

/// `validateMounts`: sizes parse and are at least 1 GB, snapshot retention is 1 to 60 days, the
/// auto-extend settings come together and within their bounds; and (as it does for a flattened
/// group, and as a group's machine takes only one volume) one mount per process group. Beyond
/// flyctl, which checks neither: a mount names both its volume (`source`) and its `destination`,
/// without which it mounts nothing.
fn mounts(config: &Table) -> Findings {
    let mut findings = vec![];
    let mounts = mount_sections(config);
    for group in process_names(config) {
        let count = mounts
            .iter()
            .filter(|m| goes_to(config, &processes_of(m), &group))
            .count();
        if count > 1 {
            findings.push(format!(
                "group '{group}' has more than one [[mounts]] section defined"
            ));
        }
    }
    for mount in mounts {
        let source = str_of(mount, "source").unwrap_or("");
        if source.is_empty() || str_of(mount, "destination").is_none_or(str::is_empty) {
            findings.push(format!(
                "mount '{source}' needs both source and destination"
            ));
        }
        let size = |key: &str| -> Option<Result<i64, String>> {
            mount.get(key).map(|v| parse_size(v, false, GB))
        };
        match size("initial_size") {
            Some(Err(e)) => findings.push(format!(
                "mount '{source}' with initial_size will fail because of: {e}"
            )),
            Some(Ok(gb)) if gb < 1 => findings.push(format!(
                "mount '{source}' has an initial_size value which is smaller than 1GB"
            )),
            _ => {}
        }
        if let Some(days) = mount.get("snapshot_retention").and_then(Value::as_integer)
            && !(1..=60).contains(&days)
        {
            findings.push(format!(
                "mount '{source}' has a snapshot_retention value which is not between 1 and 60 \
                 days inclusive"
            ));
        }
        let mut extend = |key: &str| match size(key) {
            Some(Err(e)) => {
                findings.push(format!(
                    "mount '{source}' with {key} will fail because of: {e}"
                ));
                0
            }
            Some(Ok(gb)) => gb,
            None => 0,
        };
        let increment = extend("auto_extend_size_increment");
        let limit = extend("auto_extend_size_limit");
        let threshold = mount
            .get("auto_extend_size_threshold")
            .and_then(Value::as_integer)
            .unwrap_or(0);
        if threshold != 0 || increment != 0 || limit != 0 {
            if threshold != 0 && increment == 0 && limit == 0 {
                findings.push(format!(
                    "mount '{source}' auto_extend_size_threshold, auto_extend_size_increment and \
                     auto_extend_size_limit must be all defined or none"
                ));
            }
            if !(50..=99).contains(&threshold) {
                findings.push(format!(
                    "mount '{source}' auto_extend_size_threshold must be between 50 and 99"
                ));
            }
            if !(1..=100).contains(&increment) {
                findings.push(format!(
                    "mount '{source}' auto_extend_size_increment must be between 1GB and 100GB"
                ));
            }
            if limit != 0 && !(1..=500).contains(&limit) {
                findings.push(format!(
                    "mount '{source}' auto_extend_size_limit must be between 1GB and 500GB"
                ));
            }
        }
    }
    findings
}

/// `validateRestartPolicy`: a restart policy names declared groups and is `always`, `never` or
/// `on-failure`.
fn restart_policies(config: &Table) -> Findings {
    let names = process_names(config);
    let mut findings = vec![];
    for restart in sections(config, &["restart"]) {
        for name in processes_of(restart)
            .iter()
            .filter(|name| !names.contains(name))
        {
            findings.push(format!(
                "Restart policy specifies '{name}' as one of its processes, but no processes are \
                 defined with that name"
            ));
        }
        let policy = str_of(restart, "policy").unwrap_or("");
        if !matches!(policy, "always" | "never" | "on-failure") {
            findings.push(format!("invalid restart policy: {policy}"));
        }
    }
    findings
}

/// `validateCompression`: `[build] compression` is `gzip` or `zstd`, its level 0 to 9.
fn compression(config: &Table) -> Findings {
    let Some(build) = config.get("build").and_then(Value::as_table) else {
        return vec![];
    };
    let mut findings = vec![];
    if let Some(kind) = str_of(build, "compression")
        && !matches!(kind, "" | "gzip" | "zstd")
    {
        findings.push(format!(
            "Invalid value '{kind}' for compression. Valid options are 'gzip', 'zstd', or leave \
             unset."
        ));
    }
    if let Some(level) = build.get("compression_level").and_then(Value::as_integer)
        && !(0..=9).contains(&level)
    {
        findings.push(format!(
            "Invalid value '{level}' for compression level. Must be an integer between 0 and 9."
        ));
    }
    findings
}

/// fly-go v0.9.5's `MachinePresets`: a size's CPU kind and count.
fn vm_preset(size: &str) -> Option<(&'static str, i64)> {
    let (kind, cpus) = if let Some(n) = size.strip_prefix("shared-cpu-") {
        ("shared", n)
    } else if let Some(n) = size.strip_prefix("performance-") {
        ("performance", n)
    } else {
        return match size {
            "a100-40gb" | "a100-80gb" | "l40s" | "a10" => Some(("performance", 8)),
            _ => None,
        };
    };
    let cpus: i64 = cpus.strip_suffix('x')?.parse().ok()?;
    let presets: &[i64] = if kind == "shared" {
        &[1, 2, 4, 6, 8]
    } else {
        &[1, 2, 4, 6, 8, 10, 12, 14, 16]
    };
    presets.contains(&cpus).then_some((kind, cpus))
}

/// `computeToGuest` (run for every group at deploy; `config validate` skips it, as
/// `validateMachineConversion` checks the wrong error): the size is one of fly-go's presets and
/// the memory parses (binary units, MiB) and is not zero. And, stricter than a deploy, which does
/// not check them itself, the guest limits machine/update.go's `Update` checks before it changes
/// a machine: `cpu_kind` is `shared` or `performance`, a shared CPU takes 256 to 2048 MB in steps
/// of 256, a performance CPU 2048 to 8192 MB in steps of 1024 (fly-go's `MIN_MEMORY_MB_PER_*`,
/// `MAX_MEMORY_MB_PER_*`). One `[[vm]]` per group: `ComputeForGroup` keeps one and ignores the
/// rest.
fn vm_sizes(config: &Table) -> Findings {
    let mut findings = vec![];
    let vms = vm_sections(config);
    for group in process_names(config) {
        let specific = vms
            .iter()
            .filter(|vm| processes_of(vm).contains(&group))
            .count();
        let general = vms.iter().filter(|vm| processes_of(vm).is_empty()).count();
        if specific > 1 || (specific == 0 && general > 1) {
            findings.push(format!(
                "group '{group}' has more than one [[vm]]: flyctl uses one of them"
            ));
        }
    }
    for vm in vms {
        let size = str_of(vm, "size").unwrap_or("shared-cpu-1x");
        let Some((kind, preset_cpus)) = vm_preset(size) else {
            findings.push(format!("'{size}' is an invalid machine size"));
            continue;
        };
        let kind = str_of(vm, "cpu_kind").unwrap_or(kind);
        let cpus = vm
            .get("cpus")
            .and_then(Value::as_integer)
            .unwrap_or(preset_cpus);
        let (per_cpu_min, per_cpu_max, step) = match kind {
            "shared" => (256, 2048, 256),
            "performance" => (2048, 8192, 1024),
            other => {
                findings.push(format!("invalid cpu_kind '{other}'"));
                continue;
            }
        };
        let memory = match (vm.get("memory"), vm.get("memory_mb")) {
            (_, Some(mb)) => mb.as_integer(),
            (Some(memory), None) => match parse_size(memory, true, MIB) {
                Ok(0) => {
                    findings.push("memory cannot be zero".to_owned());
                    continue;
                }
                Ok(mb) => Some(mb),
                Err(e) => {
                    findings.push(format!("memory {memory}: {e}"));
                    continue;
                }
            },
            (None, None) => Some(per_cpu_min * cpus),
        };
        let Some(memory) = memory else {
            findings.push("memory_mb is not a number".to_owned());
            continue;
        };
        if memory % step != 0 {
            findings.push(format!(
                "{memory} MB of memory is not a multiple of {step} MB for a {kind} CPU"
            ));
        }
        if memory < per_cpu_min * cpus || memory > per_cpu_max * cpus {
            findings.push(format!(
                "{memory} MB of memory is outside {}..={} MB for {cpus} {kind} CPU(s)",
                per_cpu_min * cpus,
                per_cpu_max * cpus
            ));
        }
    }
    findings
}

/// `Flatten` hands each process-group-aware section only to the groups its `processes` names:
/// a name that is no group of `[processes]` silently leaves the section off every machine (a
/// mount, so the store would land on the machine's own disk; the metrics; the VM size).
/// `validateServicesSection` and `validateRestartPolicy` refuse it for services and restart
/// policies; this holds every section to it, `[[files]]` too, although deploy merges those into
/// every group's machines before flattening (machines.go, `MergeFiles`).
fn groups_exist(config: &Table) -> Findings {
    let names = process_names(config);
    let mut findings = vec![];
    for (label, section) in group_sections(config) {
        for name in processes_of(section)
            .iter()
            .filter(|name| !names.contains(name))
        {
            findings.push(format!(
                "{label} names process group '{name}', which [processes] does not define: \
                 flyctl gives it to no machine"
            ));
        }
    }
    findings
}

/// Issue 16's rule, beyond flyctl's: once `[processes]` declares groups, every section that
/// belongs to one names it. flyctl refuses this only for services (above); `Flatten` gives any
/// other unnamed section to the default group (`ComputeForGroup` a `[[vm]]` to every group),
/// which is right only until a second group exists.
fn groups_named(config: &Table) -> Findings {
    if declared_groups(config).is_empty() {
        return vec![];
    }
    group_sections(config)
        .into_iter()
        .filter(|(_, section)| processes_of(section).is_empty())
        .map(|(label, _)| format!("{label} names no process group"))
        .collect()
}

/// `updateMachineConfig` sets a machine's metrics from a group's first `[metrics]` only: any
/// other is silently dropped.
fn metrics_per_group(config: &Table) -> Findings {
    let metrics = metrics_sections(config);
    process_names(config)
        .into_iter()
        .filter(|group| {
            metrics
                .iter()
                .filter(|m| goes_to(config, &processes_of(m), group))
                .count()
                > 1
        })
        .map(|group| {
            format!("group '{group}' has more than one [metrics]: flyctl uses only the first")
        })
        .collect()
}

/// `File.toMachineFile`, run by every deploy: `local_path` is read from the directory flyctl runs
/// in (deploy.yml: the repository root), and a file it cannot read fails the deploy. It takes
/// the first of `local_path`, `secret_name`, `raw_value` and ignores the others; fly-go's
/// `MergeFiles` keeps one file per `guest_path` (`validate:"required"`). Held here: a
/// `guest_path` that is absolute and unique, and exactly one source.
fn files(config: &Table) -> Findings {
    let mut findings = vec![];
    let mut guest_paths = BTreeSet::new();
    for file in sections(config, &["files"]) {
        let guest = str_of(file, "guest_path").unwrap_or("");
        if !guest.starts_with('/') {
            findings.push(format!("[[files]] guest_path '{guest}' is not absolute"));
        }
        if !guest_paths.insert(guest) {
            findings.push(format!("[[files]] guest_path '{guest}' appears twice"));
        }
        let sources: Vec<&str> = ["local_path", "secret_name", "raw_value"]
            .into_iter()
            .filter(|key| str_of(file, key).is_some_and(|v| !v.is_empty()))
            .collect();
        if sources.len() != 1 {
            findings.push(format!(
                "[[files]] {guest} has {sources:?}: exactly one of local_path, secret_name, \
                 raw_value"
            ));
        }
        if let Some(local) = str_of(file, "local_path")
            && let Err(e) = std::fs::read(repo_path(local))
        {
            findings.push(format!("could not read file {local}: {e}"));
        }
    }
    findings
}

/// fly-go's `Duration.ParseDuration` (after patches.go's `_castDuration`): every duration parses
/// with Go's `time.ParseDuration`, or the config does not load. Numbers are refused here (see
/// `duration_field`).
fn durations(config: &Table) -> Findings {
    let mut fields: Vec<(String, &Value)> = vec![];
    if let Some(value) = config.get("kill_timeout") {
        fields.push(("kill_timeout".into(), value));
    }
    if let Some(deploy) = config.get("deploy").and_then(Value::as_table) {
        for key in ["wait_timeout", "release_command_timeout"] {
            if let Some(value) = deploy.get(key) {
                fields.push((format!("deploy.{key}"), value));
            }
        }
    }
    let mut checks: Vec<&Table> = all_services(config)
        .into_iter()
        .flat_map(service_checks)
        .collect();
    if let Some(top) = config.get("checks").and_then(Value::as_table) {
        checks.extend(top.values().filter_map(Value::as_table));
    }
    for check in checks {
        for key in ["interval", "timeout", "grace_period"] {
            if let Some(value) = check.get(key) {
                fields.push((format!("check {key}"), value));
            }
        }
    }
    fields
        .into_iter()
        .filter_map(|(name, value)| duration_field(value).err().map(|e| format!("{name}: {e}")))
        .collect()
}

/// The keys flyctl's `Config` and the types under it know (config.go, service.go,
/// toplevelcheck.go, fly-go's `MachineServiceConcurrency`, `MachineMetrics`, `MachineGuest`),
/// per section. `StrictValidate` reports anything else; it does not descend into `[[mounts]]`,
/// `[[vm]]` and `[metrics]` (patched into lists first), which are held to their keys here too.
fn known_keys(config: &Table) -> Findings {
    const TOP: &str = "\
        app primary_region kill_signal kill_timeout swap_size_mb console_command experimental \
        build deploy env processes mounts mount http_service services checks files \
        host_dedication_id machine_config container machine_checks restart vm compute computes \
        statics metrics metric";
    const BUILD: &str = "\
        builder args buildpacks image settings builtin dockerfile ignorefile build-target \
        build_target compose compression compression_level";
    const DEPLOY: &str = "\
        strategy max_unavailable wait_timeout release_command release_command_timeout \
        release_command_vm seed_command";
    const HTTP_SERVICE: &str = "\
        internal_port force_https auto_stop_machines auto_start_machines min_machines_running \
        processes concurrency tls_options http_options checks machine_checks";
    const CONCURRENCY: &str = "type hard_limit soft_limit";
    const SERVICE_CHECK: &str = "\
        interval timeout grace_period method path protocol tls_skip_verify tls_server_name \
        headers";
    const TOP_CHECK: &str = "\
        port type interval timeout grace_period method path protocol tls_skip_verify \
        tls_server_name headers processes";
    const FILE: &str = "guest_path local_path secret_name raw_value processes";
    const MOUNT: &str = "\
        source destination initial_size snapshot_retention scheduled_snapshots \
        auto_extend_size_threshold auto_extend_size_increment auto_extend_size_limit processes";
    const METRICS: &str = "port path https processes";
    const VM: &str = "\
        size memory processes cpu_kind cpus memory_mb max_memory_mb gpus gpu_kind \
        host_dedication_id persist_rootfs kernel_args";
    const RESTART: &str = "policy retries processes";

    let mut findings = vec![];
    // Each list is the section's keys, separated by white space.
    let mut check = |path: &str, table: &Table, known: &str| {
        for key in table
            .keys()
            .filter(|key| !known.split_whitespace().any(|k| k == key.as_str()))
        {
            findings.push(format!("{path}.{key} is not a key flyctl knows"));
        }
    };
    check("(top level)", config, TOP);
    let table = |key: &str| config.get(key).and_then(Value::as_table);
    if let Some(build) = table("build") {
        check("build", build, BUILD);
    }
    if let Some(deploy) = table("deploy") {
        check("deploy", deploy, DEPLOY);
    }
    if let Some(service) = table("http_service") {
        check("http_service", service, HTTP_SERVICE);
        if let Some(concurrency) = service.get("concurrency").and_then(Value::as_table) {
            check("http_service.concurrency", concurrency, CONCURRENCY);
        }
        for item in sections(service, &["checks"]) {
            check("http_service.checks", item, SERVICE_CHECK);
        }
    }
    if let Some(checks) = table("checks") {
        for (name, item) in checks {
            if let Some(item) = item.as_table() {
                check(&format!("checks.{name}"), item, TOP_CHECK);
            }
        }
    }
    for item in sections(config, &["files"]) {
        check("files", item, FILE);
    }
    for item in mount_sections(config) {
        check("mounts", item, MOUNT);
    }
    for item in metrics_sections(config) {
        check("metrics", item, METRICS);
    }
    for item in vm_sections(config) {
        check("vm", item, VM);
    }
    for item in sections(config, &["restart"]) {
        check("restart", item, RESTART);
    }
    findings
}

/// `blueGreen.Deploy`: "You need to define at least 1 check in order to use blue-green
/// deployments" (a service check or a top-level one).
fn bluegreen_checks(config: &Table) -> Findings {
    let strategy = config
        .get("deploy")
        .and_then(Value::as_table)
        .and_then(|deploy| str_of(deploy, "strategy"));
    if strategy != Some("bluegreen") {
        return vec![];
    }
    let service_checks = all_services(config)
        .into_iter()
        .flat_map(service_checks)
        .count();
    let top_checks = config
        .get("checks")
        .and_then(Value::as_table)
        .map_or(0, Table::len);
    if service_checks + top_checks == 0 {
        vec!["You need to define at least 1 check in order to use blue-green deployments".into()]
    } else {
        vec![]
    }
}

// ---- the tests ------------------------------------------------------------------------------

#[test]
fn both_fly_configs_pass_every_rule_of_flyctl() {
    for (name, config) in configs() {
        for rule in RULES {
            let findings = (rule.check)(&config);
            assert!(
                findings.is_empty(),
                "{name} breaks \"{}\" ({}): {findings:#?}",
                rule.name,
                rule.mirrors
            );
        }
    }
}

/// A copy of the named repository config, changed by `edit`.
fn edited(name: &str, edit: impl FnOnce(&mut Table)) -> Table {
    let mut config = parse(&repo_file(name));
    edit(&mut config);
    config
}

fn table_mut<'a>(config: &'a mut Table, key: &str) -> &'a mut Table {
    config
        .get_mut(key)
        .and_then(Value::as_table_mut)
        .unwrap_or_else(|| panic!("no [{key}]"))
}

/// The first table of an array of tables.
fn first_mut<'a>(config: &'a mut Table, key: &str) -> &'a mut Table {
    config
        .get_mut(key)
        .and_then(Value::as_array_mut)
        .and_then(|items| items.first_mut())
        .and_then(Value::as_table_mut)
        .unwrap_or_else(|| panic!("no [[{key}]]"))
}

/// Every section of `config` that names a process group, without its `processes`: what
/// fly.monitor.toml was before issue 16.
fn without_processes(config: &mut Table) {
    // Issue 19's agent group came later: before issue 16 there was one group, the monitor.
    table_mut(config, "processes").remove("agent");
    config.remove("checks");
    if let Some(vms) = config.get_mut("vm").and_then(Value::as_array_mut) {
        vms.retain(|vm| vm.get("processes") != Some(&Value::from(vec!["agent"])));
    }
    table_mut(config, "http_service").remove("processes");
    table_mut(config, "metrics").remove("processes");
    for key in ["mounts", "files", "vm"] {
        first_mut(config, key).remove("processes");
    }
}

/// For each rule, a config that breaks it (mostly one of ours, changed in one place) and a piece
/// of what the rule must say.
fn breaking_examples() -> Vec<(&'static str, Table, &'static str)> {
    let monitor = "fly.monitor.toml";
    let service = "fly.toml";
    vec![
        (
            "one build strategy",
            edited(service, |c| {
                table_mut(c, "build").insert("dockerfile".into(), "Dockerfile".into());
            }),
            "more than one build configuration",
        ),
        (
            "deploy section",
            edited(monitor, |c| {
                table_mut(c, "deploy").insert("strategy".into(), "canary".into());
            }),
            "canary deployment strategy is not supported when using mounted volumes",
        ),
        (
            "deploy section",
            edited(service, |c| {
                table_mut(c, "deploy").insert("strategy".into(), "blue-green".into());
            }),
            "unsupported deployment strategy 'blue-green'",
        ),
        (
            "deploy section",
            edited(service, |c| {
                table_mut(c, "deploy").insert("release_command".into(), "migrate 'up".into());
            }),
            "Can't shell split release command",
        ),
        (
            "top-level checks",
            parse(
                "app = \"a\"\n[checks.alive]\ntype = \"http\"\ninterval = \"1s\"\n\
                 timeout = \"90s\"\npath = \"/health\"\n",
            ),
            "interval is too short",
        ),
        (
            "top-level checks",
            parse("app = \"a\"\n[checks.alive]\ntype = \"tcp\"\ntimeout = \"90s\"\nport = 8080\n"),
            "timeout is too long",
        ),
        (
            "top-level checks",
            parse("app = \"a\"\n[checks.alive]\ntype = \"grpc\"\nport = 8080\n"),
            "must be 'http' or 'tcp'",
        ),
        (
            "top-level checks",
            parse("app = \"a\"\n[checks.alive]\ntype = \"http\"\npath = \"/health\"\n"),
            "has no port set and the group has no http_service",
        ),
        (
            // fly.monitor.toml as it was: flyctl v0.4.87 refused every release of it.
            "services name their process groups",
            edited(monitor, without_processes),
            "Service has no processes set but app has 1 processes defined",
        ),
        (
            "services name their process groups",
            edited(monitor, |c| {
                table_mut(c, "http_service").insert("processes".into(), vec!["web"].into());
            }),
            "Service specifies 'web' as one of its processes",
        ),
        (
            "services expose ports",
            parse("app = \"a\"\n[[services]]\ninternal_port = 8080\nprotocol = \"tcp\"\n"),
            "Service must expose at least one port",
        ),
        (
            "service check durations",
            edited(service, |c| {
                first_mut(table_mut(c, "http_service"), "checks")
                    .insert("interval".into(), "500ms".into());
            }),
            "interval 500ms is under 1 second",
        ),
        (
            "service check durations",
            edited(service, |c| {
                first_mut(table_mut(c, "http_service"), "checks")
                    .insert("grace_period".into(), "2m".into());
            }),
            "grace_period 120s is over 1 minute",
        ),
        (
            "process commands split",
            edited(monitor, |c| {
                table_mut(c, "processes").insert(
                    "app".into(),
                    "monitor --config \"/etc/health-service/monitor.toml".into(),
                );
            }),
            "EOF found when expecting closing quote",
        ),
        (
            "process commands split",
            edited(monitor, |c| {
                table_mut(c, "processes").insert("app".into(), "monitor --config \\".into());
            }),
            "EOF found after escape character",
        ),
        (
            "console command splits",
            edited(service, |c| {
                c.insert("console_command".into(), "/bin/sh -c 'ls".into());
            }),
            "Can't shell split console command",
        ),
        (
            "mounts",
            edited(monitor, |c| {
                first_mut(c, "mounts").insert("initial_size".into(), "500mb".into());
            }),
            "smaller than 1GB",
        ),
        (
            "mounts",
            edited(monitor, |c| {
                first_mut(c, "mounts").insert("initial_size".into(), "1 gigabyte".into());
            }),
            "with initial_size will fail because of",
        ),
        (
            "mounts",
            edited(monitor, |c| {
                first_mut(c, "mounts").remove("destination");
            }),
            "mount 'monitor_data' needs both source and destination",
        ),
        (
            "mounts",
            edited(monitor, |c| {
                first_mut(c, "mounts").insert("snapshot_retention".into(), 90.into());
            }),
            "not between 1 and 60 days",
        ),
        (
            "mounts",
            edited(monitor, |c| {
                first_mut(c, "mounts").insert("auto_extend_size_threshold".into(), 80.into());
            }),
            "must be all defined or none",
        ),
        (
            "mounts",
            edited(monitor, |c| {
                let mount = first_mut(c, "mounts");
                mount.insert("auto_extend_size_threshold".into(), 40.into());
                mount.insert("auto_extend_size_increment".into(), "200GB".into());
                mount.insert("auto_extend_size_limit".into(), "600GB".into());
            }),
            "auto_extend_size_threshold must be between 50 and 99",
        ),
        (
            "mounts",
            edited(monitor, |c| {
                let second = Value::Table(first_mut(c, "mounts").clone());
                c.get_mut("mounts")
                    .and_then(Value::as_array_mut)
                    .unwrap()
                    .push(second);
            }),
            "group 'app' has more than one [[mounts]]",
        ),
        (
            "restart policies",
            parse(
                "app = \"a\"\n[processes]\napp = \"run\"\n\
                 [[restart]]\npolicy = \"sometimes\"\nprocesses = [\"worker\"]\n",
            ),
            "invalid restart policy: sometimes",
        ),
        (
            "restart policies",
            parse(
                "app = \"a\"\n[processes]\napp = \"run\"\n\
                 [[restart]]\npolicy = \"always\"\nprocesses = [\"worker\"]\n",
            ),
            "Restart policy specifies 'worker'",
        ),
        (
            "compression",
            edited(service, |c| {
                table_mut(c, "build").insert("compression".into(), "xz".into());
            }),
            "Invalid value 'xz' for compression",
        ),
        (
            "compression",
            edited(service, |c| {
                table_mut(c, "build").insert("compression_level".into(), 12.into());
            }),
            "Invalid value '12' for compression level",
        ),
        (
            "VM sizes",
            edited(service, |c| {
                first_mut(c, "vm").insert("size".into(), "shared-cpu-3x".into());
            }),
            "'shared-cpu-3x' is an invalid machine size",
        ),
        (
            "VM sizes",
            edited(service, |c| {
                first_mut(c, "vm").insert("memory".into(), "300mb".into());
            }),
            "not a multiple of 256 MB",
        ),
        (
            "VM sizes",
            edited(service, |c| {
                first_mut(c, "vm").insert("memory".into(), "4gb".into());
            }),
            "outside 256..=2048 MB",
        ),
        (
            "VM sizes",
            edited(service, |c| {
                first_mut(c, "vm").insert("memory".into(), "256 megs".into());
            }),
            "invalid suffix",
        ),
        (
            "VM sizes",
            edited(monitor, |c| {
                let second = Value::Table(first_mut(c, "vm").clone());
                c.get_mut("vm")
                    .and_then(Value::as_array_mut)
                    .unwrap()
                    .push(second);
            }),
            "group 'app' has more than one [[vm]]",
        ),
        (
            // The store would land on the machine's ephemeral disk.
            "sections name existing process groups",
            edited(monitor, |c| {
                first_mut(c, "mounts").insert("processes".into(), vec!["monitor"].into());
            }),
            "[[mounts]] names process group 'monitor'",
        ),
        (
            "every section names its process group",
            edited(monitor, |c| {
                table_mut(c, "metrics").remove("processes");
            }),
            "[metrics] names no process group",
        ),
        (
            "one [metrics] per process group",
            edited(service, |c| {
                let metrics = c.remove("metrics").unwrap();
                let mut other = metrics.as_table().unwrap().clone();
                other.insert("port".into(), 9092.into());
                c.insert("metrics".into(), vec![metrics, Value::Table(other)].into());
            }),
            "more than one [metrics]",
        ),
        (
            "files",
            edited(monitor, |c| {
                first_mut(c, "files").insert("local_path".into(), "monitor.example.toml".into());
            }),
            "could not read file monitor.example.toml",
        ),
        (
            "files",
            edited(monitor, |c| {
                first_mut(c, "files").insert("secret_name".into(), "MONITOR_TOML".into());
            }),
            "exactly one of local_path, secret_name, raw_value",
        ),
        (
            "files",
            edited(monitor, |c| {
                first_mut(c, "files").insert("guest_path".into(), "monitor.toml".into());
            }),
            "is not absolute",
        ),
        (
            "durations",
            edited(service, |c| {
                table_mut(c, "deploy").insert("wait_timeout".into(), 300.into());
            }),
            "deploy.wait_timeout: 300 is a number",
        ),
        (
            "durations",
            edited(monitor, |c| {
                c.insert("kill_timeout".into(), "15 seconds".into());
            }),
            "kill_timeout: time: unknown unit",
        ),
        (
            "only keys flyctl knows",
            edited(service, |c| {
                table_mut(c, "http_service").insert("force_http".into(), true.into());
            }),
            "http_service.force_http is not a key flyctl knows",
        ),
        (
            "only keys flyctl knows",
            edited(monitor, |c| {
                first_mut(c, "mounts").insert("size".into(), "1gb".into());
            }),
            "mounts.size is not a key flyctl knows",
        ),
        (
            "only keys flyctl knows",
            edited(service, |c| {
                c.insert("healthcheck".into(), Value::Table(Table::new()));
            }),
            "(top level).healthcheck is not a key flyctl knows",
        ),
        (
            "bluegreen has a check",
            edited(service, |c| {
                table_mut(c, "http_service").remove("checks");
            }),
            "at least 1 check in order to use blue-green",
        ),
    ]
}

#[test]
fn every_rule_refuses_a_config_that_breaks_it() {
    let examples = breaking_examples();
    for rule in RULES {
        assert!(
            examples.iter().any(|(name, _, _)| *name == rule.name),
            "no breaking example for \"{}\"",
            rule.name
        );
    }
    for (name, config, expected) in &examples {
        let rule = rule(name);
        let findings = (rule.check)(config);
        assert!(
            findings.iter().any(|finding| finding.contains(expected)),
            "\"{name}\" ({}) should refuse with \"{expected}\", found {findings:#?}",
            rule.mirrors
        );
    }
}

/// As `BuildStrategies`, which counts buildpacks by `len(c.Build.Buildpacks) > 0`: `[build]`'s
/// image and an empty list are one strategy, a named buildpack makes two.
#[test]
fn an_empty_buildpacks_list_is_no_build_strategy() {
    let with_buildpacks = |names: Vec<&str>| {
        edited("fly.toml", |c| {
            table_mut(c, "build").insert("buildpacks".into(), names.into());
        })
    };
    assert_eq!(
        build_strategies(&with_buildpacks(vec![])),
        Vec::<String>::new()
    );
    assert_eq!(
        build_strategies(&with_buildpacks(vec!["paketo-buildpacks/go"])),
        ["more than one build configuration found: [image, buildpacks]"]
    );
}

#[test]
fn the_monitor_config_before_issue_16_is_refused_as_flyctl_refused_it() {
    let before = edited("fly.monitor.toml", without_processes);
    let findings = services_processes(&before);
    assert_eq!(
        findings,
        [
            "Service has no processes set but app has 1 processes defined; update fly.toml to set \
          processes for each service"
        ],
        "flyctl v0.4.87's words, for the one [http_service]"
    );
    // And the fix is what makes the difference: the same config with the processes back passes.
    assert!(services_processes(&parse(&repo_file("fly.monitor.toml"))).is_empty());
}

#[test]
fn the_mirrored_parsers_read_what_flyctl_reads() {
    assert_eq!(
        shlex_split("monitor --config /etc/x.toml").unwrap(),
        ["monitor", "--config", "/etc/x.toml"]
    );
    assert_eq!(
        shlex_split(r#"a "b c" 'd e' f\ g # comment"#).unwrap(),
        ["a", "b c", "d e", "f g"]
    );
    assert_eq!(
        shlex_split(r#"a"b\"c"#),
        Err("EOF found when expecting closing quote")
    );
    assert_eq!(shlex_split("a#b").unwrap(), ["a#b"]);

    assert_eq!(go_duration("5m"), Ok(Duration::from_secs(300)));
    assert_eq!(go_duration("1h30m"), Ok(Duration::from_secs(5400)));
    assert_eq!(go_duration("1.5s"), Ok(Duration::from_millis(1500)));
    assert_eq!(go_duration("0"), Ok(Duration::ZERO));
    assert!(go_duration("5").is_err(), "Go wants a unit");
    assert!(go_duration("5min").is_err(), "and knows no 'min'");

    // initial_size: decimal gigabytes; memory: binary megabytes; bare integers are the unit.
    let size = |text: &str, binary, unit| parse_size(&Value::from(text), binary, unit);
    assert_eq!(size("1gb", false, GB), Ok(1));
    assert_eq!(size("15Mb", false, GB), Ok(0));
    assert_eq!(size("10", false, GB), Ok(10));
    assert_eq!(size("256mb", true, MIB), Ok(256));
    assert_eq!(size("1GiB", true, MIB), Ok(1024));
    assert_eq!(size("2 g", true, MIB), Ok(2048));
    assert!(size("256mbs", true, MIB).is_err());
    assert!(size("unparseable", false, GB).is_err());
}

// ---- the pinned flyctl, and the timeouts sized from its waits -------------------------------
//
// The Nix build's source keeps Cargo's files and every TOML file, so the pin is read in every
// test run; the tests that read deploy.yml and fly-release are `#[ignore]`d and run by .ci/run.

fn deploy_yml() -> Yaml {
    serde_yaml::from_str(&repo_file(".github/workflows/deploy.yml")).expect("deploy.yml is YAML")
}

#[test]
fn the_rules_were_read_from_the_pinned_flyctl() {
    let pin = parse(&repo_file(".github/flyctl.toml"));
    let pinned = str_of(&pin, "version").expect(".github/flyctl.toml sets version");
    assert_eq!(
        pinned, WRITTEN_AGAINST,
        "deploy.yml installs flyctl {pinned} (.github/flyctl.toml), but tests/integration/flyctl.rs \
         mirrors {WRITTEN_AGAINST}: re-read internal/appconfig/validation.go and what it calls at \
         v{pinned}, update the rules, then WRITTEN_AGAINST"
    );
}

#[test]
#[ignore = "reads .github/workflows, which the Nix build's source leaves out: run by .ci/run"]
fn deploy_yml_installs_the_pinned_flyctl_and_no_other() {
    let workflow = deploy_yml();
    let steps = workflow["jobs"]["release"]["steps"].as_sequence().unwrap();
    let setups: Vec<&Yaml> = steps
        .iter()
        .filter(|step| {
            step["uses"]
                .as_str()
                .is_some_and(|uses| uses.starts_with("superfly/flyctl-actions/setup-flyctl@"))
        })
        .collect();
    assert_eq!(setups.len(), 1, "one flyctl");
    assert_eq!(
        setups[0]["with"]["version"].as_str(),
        Some("${{ steps.flyctl.outputs.version }}")
    );
    let reader = steps
        .iter()
        .find(|step| step["id"].as_str() == Some("flyctl"))
        .expect("a step with id flyctl");
    let run = reader["run"].as_str().unwrap();
    assert!(
        run.contains(".github/flyctl.toml") && run.contains("[\"version\"]"),
        "the flyctl step reads .github/flyctl.toml's version: {run}"
    );
}

/// A release step of deploy.yml, found by what its `run:` contains.
fn release_step<'a>(workflow: &'a Yaml, run: &str) -> &'a Yaml {
    let steps = workflow["jobs"]["release"]["steps"].as_sequence().unwrap();
    let found: Vec<&Yaml> = steps
        .iter()
        .filter(|step| step["run"].as_str().is_some_and(|text| text.contains(run)))
        .collect();
    assert_eq!(found.len(), 1, "one release step runs `{run}`");
    found[0]
}

fn step_minutes(step: &Yaml) -> u64 {
    step["timeout-minutes"]
        .as_u64()
        .unwrap_or_else(|| panic!("no timeout-minutes in {step:?}"))
}

/// fly-release's `DEPLOY_RETRIES`, which it passes as `--deploy-retries` to every deploy.
fn deploy_retries() -> u32 {
    let script = repo_file(".github/scripts/fly-release");
    let line = script
        .lines()
        .find_map(|line| line.strip_prefix("readonly DEPLOY_RETRIES="))
        .expect("fly-release sets readonly DEPLOY_RETRIES=N");
    line.parse().expect("DEPLOY_RETRIES is a number")
}

/// Machines of a process group that has neither a mount nor a service: fly.monitor.toml's agents,
/// placed by hand, one in each of two regions (README: `fly scale count agent=1 --region ams`,
/// then `iad`); flyctl keeps that count on every deploy.
const PLACED_BY_HAND: u32 = 2;

/// The machines `config`'s app runs. Per group: flyctl creates one for a group with a mount, two
/// for a group with services (machines_deploymachinesapp.go, "Create only 1 machine if the group
/// has mounts"); a group with neither runs [`PLACED_BY_HAND`].
fn machine_count(config: &Table) -> u32 {
    let http_service = config.get("http_service").and_then(Value::as_table);
    process_names(config)
        .iter()
        .map(|group| {
            if mount_sections(config)
                .iter()
                .any(|m| goes_to(config, &processes_of(m), group))
            {
                1
            } else if http_service.is_some_and(|s| goes_to(config, &processes_of(s), group)) {
                2
            } else {
                PLACED_BY_HAND
            }
        })
        .sum()
}

/// How long one `flyctl deploy` of `config` may take at most ([`machine_count`] machines).
/// bluegreen waits up to `wait_timeout` three times in all (green started, green healthy, blue
/// stopped; strategy_bluegreen.go); rolling, and every rollback, updates one machine at a time:
/// its stop (`kill_timeout`), then up to `wait_timeout` to start and again to pass its checks.
fn one_attempt(config: &Table, rollback: bool) -> Duration {
    let deploy = config["deploy"].as_table().unwrap();
    let wait = duration_field(&deploy["wait_timeout"]).unwrap();
    let kill = duration_field(&config["kill_timeout"]).unwrap();
    let machines = machine_count(config);
    if !rollback && str_of(deploy, "strategy") == Some("bluegreen") {
        3 * wait
    } else {
        machines * (kill + 2 * wait)
    }
}

/// flyctl's own pauses, smoke checks (10 s) and DNS checks (up to 70 s) on top of the waits.
const FLYCTL_OVERHEAD: Duration = Duration::from_secs(120);

/// Why `minutes` is too short for a step that runs `flyctl deploy` of `config` with `retries`
/// retries, if it is.
fn timeout_too_short(config: &Table, rollback: bool, retries: u32, minutes: u64) -> Option<String> {
    let needed = (1 + retries) * one_attempt(config, rollback) + FLYCTL_OVERHEAD;
    (Duration::from_secs(minutes * 60) < needed).then(|| {
        format!(
            "{minutes} min < {needed:?}: (1 + {retries} retries) x {:?} per attempt + {:?}",
            one_attempt(config, rollback),
            FLYCTL_OVERHEAD
        )
    })
}

#[test]
#[ignore = "reads .github/workflows, which the Nix build's source leaves out: run by .ci/run"]
fn deploy_and_rollback_steps_outlast_every_attempt_flyctl_makes() {
    let workflow = deploy_yml();
    let retries = deploy_retries();
    for (name, config) in configs() {
        for (action, rollback) in [("deploy", false), ("rollback", true)] {
            let step = release_step(&workflow, &format!("fly-release {action} {name} "));
            if let Some(short) = timeout_too_short(&config, rollback, retries, step_minutes(step)) {
                panic!("deploy.yml's {action} of {name}: {short}");
            }
        }
    }
    // The check can fail: one retry of flyctl's would need more than the service's 20 minutes.
    let service = parse(&repo_file("fly.toml"));
    let deploy = release_step(&workflow, "fly-release deploy fly.toml ");
    assert!(timeout_too_short(&service, false, 1, step_minutes(deploy)).is_some());

    // The job outlasts all of its steps, so it never cuts a rollback short: every step has a
    // timeout of its own, or one that hangs (a checkout, a download) could use up the job's.
    let release = &workflow["jobs"]["release"];
    let steps: u64 = release["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(step_minutes)
        .sum();
    let job = release["timeout-minutes"].as_u64().unwrap();
    assert!(job > steps, "job {job} min <= its steps' {steps} min");
}

#[test]
#[ignore = "reads .github/workflows, which the Nix build's source leaves out: run by .ci/run"]
fn both_configs_are_validated_by_flyctl_before_the_first_deploy() {
    let workflow = deploy_yml();
    let steps = workflow["jobs"]["release"]["steps"].as_sequence().unwrap();
    let position = |run: &str| {
        steps
            .iter()
            .position(|step| step["run"].as_str().is_some_and(|text| text.contains(run)))
            .unwrap_or_else(|| panic!("no step runs `{run}`"))
    };
    let first_change = position("fly-release deploy ");
    for (name, token) in [
        ("fly.toml", "${{ secrets.FLY_API_TOKEN }}"),
        ("fly.monitor.toml", "${{ secrets.FLY_MONITOR_API_TOKEN }}"),
    ] {
        let validate = position(&format!("fly-release validate {name}"));
        assert!(
            validate < first_change,
            "{name} is validated before anything is deployed"
        );
        assert_eq!(
            steps[validate]["env"]["FLY_API_TOKEN"].as_str(),
            Some(token),
            "{name} is validated with its own app's token"
        );
        assert!(step_minutes(&steps[validate]) > 0);
    }
}
