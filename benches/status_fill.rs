//! Fills a monitor store through the library, for `benches/status.py`: TARGETS targets named
//! t0, t1, ... with one result a minute for DAYS days up to now, each target down for half an
//! hour on one day (results failing, an incident opened and resolved), as the ledger would
//! write them (one commit per day).
//!
//! cargo bench --bench status_fill -- DIR [TARGETS] [DAYS]

use std::time::SystemTime;

use health_service::monitor::store::{
    Batch, Incident, ResultRecord, State, Store, TargetState, Vote, millis,
};

const MINUTE_MS: u64 = 60_000;
const DAY_MINUTES: u64 = 24 * 60;
/// How long each target's one outage lasts.
const OUTAGE_MINUTES: u64 = 30;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let Some(dir) = args.first() else {
        eprintln!("usage: cargo bench --bench status_fill -- DIR [TARGETS] [DAYS]");
        std::process::exit(2);
    };
    let number = |index: usize, default: u64| -> u64 {
        args.get(index).map_or(default, |text| {
            text.parse().unwrap_or_else(|_| {
                eprintln!("error: {text:?} is not a whole number");
                std::process::exit(2)
            })
        })
    };
    let (targets, days) = (number(1, 200), number(2, 90));

    let store = match Store::open(std::path::Path::new(dir)) {
        Ok(store) => store,
        Err(err) => {
            eprintln!("error: {err}");
            std::process::exit(1);
        }
    };
    let now = millis(SystemTime::now());
    let first_minute = now / MINUTE_MS - days * DAY_MINUTES;
    let started = std::time::Instant::now();
    let mut incident_id = 1;
    for day in 0..days {
        let mut batch = Batch::default();
        for target in 0..targets {
            let name = format!("t{target}");
            // Each target's outage falls on its own day, at its own hour.
            let outage_day = target % days;
            let outage_start = outage_day * DAY_MINUTES + (target * 7 % 23) * 60;
            let outage = outage_start..outage_start + OUTAGE_MINUTES;
            let mut last = None;
            for minute in day * DAY_MINUTES..(day + 1) * DAY_MINUTES {
                let ok = !outage.contains(&minute);
                let error = (!ok).then(|| "[STATUS] (503) == 200".to_owned());
                let response_time_ms = 30 + (minute / 60 * 37 + target * 11) % 60 + minute % 7;
                let status_code = Some(if ok { 200 } else { 503 });
                let result = ResultRecord {
                    at_ms: (first_minute + minute) * MINUTE_MS,
                    ok,
                    status_code,
                    response_time_ms,
                    error: error.clone(),
                    votes: vec![Vote {
                        location: "local".to_owned(),
                        ok: Some(ok),
                        status_code,
                        response_time_ms,
                        error,
                    }],
                };
                last = Some(result.clone());
                batch.results.push((name.clone(), result));
            }
            if day == outage_day {
                batch.incidents.push(Incident {
                    id: incident_id,
                    target: name.clone(),
                    started_ms: (first_minute + outage.start) * MINUTE_MS,
                    resolved_ms: Some((first_minute + outage.end) * MINUTE_MS),
                    cause: "[STATUS] (503) == 200".to_owned(),
                    reminders: Vec::new(),
                });
                incident_id += 1;
            }
            if day + 1 == days {
                let state = TargetState {
                    state: State::Up,
                    since_ms: Some(first_minute * MINUTE_MS),
                    successes: 1,
                    last,
                    ..TargetState::default()
                };
                batch.states.insert(name, state);
            }
        }
        if let Err(err) = store.commit(&batch) {
            eprintln!("error: {err}");
            std::process::exit(1);
        }
    }
    let results = targets * days * DAY_MINUTES;
    let path = store.path().to_owned();
    drop(store); // closing trims the file
    let bytes = std::fs::metadata(&path).map_or(0, |m| m.len());
    println!(
        "filled {dir}: {targets} targets x {days} days = {results} results, {} incidents, \
         {bytes} bytes, in {:.0} s",
        incident_id - 1,
        started.elapsed().as_secs_f64()
    );
}
