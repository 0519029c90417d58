//! Rounds: every interval, every location probes a target at the same time, and the quorum
//! rule turns their votes into one verdict.
//!
//! A location whose agent does not answer within the target's timeout plus a margin casts no
//! vote: it is reported as unreachable, never as the target failing. A round fails when the
//! failed votes are at least `min(quorum, votes cast)`, so with agents gone the monitor decides
//! with the locations it still has, and is never blinder than a single monitor.

use futures_util::future::join_all;

use super::config::{Location, Target, TargetKind};
use super::probe::{Outcome, Probe, ProbeSpec};
use super::remote::Agents;
use super::store::Vote;

/// One location's part in a round: what it saw, or why it cast no vote.
#[derive(Debug, Clone, PartialEq)]
pub struct Ballot {
    /// The location's name.
    pub location: String,
    /// The judged probe, or why the location did not answer.
    pub outcome: Result<Outcome, String>,
}

/// Every location's probe of one target at one time, the monitor's own first.
#[derive(Debug, Clone, PartialEq)]
pub struct Round {
    /// The monitor's own vote first, then each agent's in the config's order.
    pub ballots: Vec<Ballot>,
}

impl Round {
    /// A round of one location: a monitor without agents.
    #[must_use]
    pub fn alone(location: &str, outcome: Outcome) -> Self {
        Self {
            ballots: vec![Ballot {
                location: location.to_owned(),
                outcome: Ok(outcome),
            }],
        }
    }

    /// Failed votes and votes cast.
    #[must_use]
    pub fn count(&self) -> (usize, usize) {
        let cast = self.ballots.iter().filter_map(|b| b.outcome.as_ref().ok());
        let (mut failed, mut total) = (0, 0);
        for outcome in cast {
            total += 1;
            failed += usize::from(!outcome.ok);
        }
        (failed, total)
    }

    /// Whether the round fails: failed votes at least `min(quorum, votes cast)`, and at least
    /// one.
    #[must_use]
    pub fn fails(&self, quorum: usize) -> bool {
        let (failed, cast) = self.count();
        failed > 0 && failed >= quorum.min(cast)
    }

    /// The locations that failed: each one's name and reason.
    pub fn failing(&self) -> impl Iterator<Item = (&str, &str)> {
        self.ballots.iter().filter_map(|b| match &b.outcome {
            Ok(outcome) if !outcome.ok => Some((
                b.location.as_str(),
                outcome.error.as_deref().unwrap_or("failed"),
            )),
            _ => None,
        })
    }

    /// The round as one outcome: the verdict, with the monitor's own measurements and, when it
    /// fails, a cause naming each failing location and its reason (`nrt: ...; ams: ...`). A
    /// round of one location is that location's outcome unchanged.
    #[must_use]
    pub fn outcome(&self, quorum: usize) -> Option<Outcome> {
        let own = self.ballots.first()?.outcome.as_ref().ok()?;
        if self.ballots.len() == 1 {
            return Some(own.clone());
        }
        let fails = self.fails(quorum);
        let error = fails.then(|| {
            self.failing()
                .map(|(location, reason)| format!("{location}: {reason}"))
                .collect::<Vec<_>>()
                .join("; ")
        });
        Some(Outcome {
            ok: !fails,
            error,
            ..own.clone()
        })
    }

    /// The votes as the store keeps them.
    #[must_use]
    pub fn votes(&self) -> Vec<Vote> {
        self.ballots
            .iter()
            .map(|ballot| match &ballot.outcome {
                Ok(outcome) => Vote {
                    location: ballot.location.clone(),
                    ok: Some(outcome.ok),
                    status_code: outcome.status_code,
                    response_time_ms: u64::try_from(outcome.response_time.as_millis())
                        .unwrap_or(u64::MAX),
                    error: outcome.error.clone(),
                },
                Err(reason) => Vote {
                    location: ballot.location.clone(),
                    ok: None,
                    status_code: None,
                    response_time_ms: 0,
                    error: Some(format!("unreachable: {reason}")),
                },
            })
            .collect()
    }
}

/// Where a round's votes come from: this process and its agents.
pub struct Voters<P> {
    /// This process's own prober.
    pub prober: P,
    /// This process's location.
    pub location: String,
    /// The agents, with the client that reaches them; none for a monitor alone.
    pub agents: Option<(Agents, Vec<Location>)>,
}

impl<P: Probe> Voters<P> {
    /// A monitor without agents, at `location`.
    pub fn alone(prober: P, location: &str) -> Self {
        Self {
            prober,
            location: location.to_owned(),
            agents: None,
        }
    }

    /// Probes `target` from every location at once.
    pub async fn round(&self, target: &Target) -> Round {
        let spec = ProbeSpec::of(target);
        let own = self.prober.probe(target);
        // Agents probe every kind a URL says (http, tcp, tls, dns); push targets are never
        // probed.
        let probed = !matches!(target.kind, TargetKind::Push(_));
        let agents = self
            .agents
            .iter()
            .filter(|_| probed)
            .flat_map(|(client, locations)| {
                locations.iter().map(move |location| (client, location))
            });
        let remote = join_all(agents.map(|(client, location)| {
            let spec = &spec;
            async move {
                let outcome = client
                    .probe(location, spec)
                    .await
                    .map(|observation| observation.judge(target));
                Ballot {
                    location: location.name.clone(),
                    outcome,
                }
            }
        }));
        let (own, remote) = tokio::join!(own, remote);
        let mut ballots = Vec::with_capacity(remote.len() + 1);
        ballots.push(Ballot {
            location: self.location.clone(),
            outcome: Ok(own),
        });
        ballots.extend(remote);
        Round { ballots }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;

    fn outcome(ok: bool) -> Outcome {
        Outcome {
            at: SystemTime::UNIX_EPOCH,
            ok,
            status_code: Some(if ok { 200 } else { 500 }),
            response_time: Duration::from_millis(7),
            duration: Duration::from_millis(8),
            error: (!ok).then(|| "[STATUS] (500) == 200".to_owned()),
            certificate_expiry: None,
            certificate_subject: None,
            conditions: Vec::new(),
        }
    }

    /// A round from `votes`: `Some(ok)` a vote, `None` an unreachable location; the first is
    /// the monitor's own (nrt), then ams, iad, ...
    fn round(votes: &[Option<bool>]) -> Round {
        const NAMES: [&str; 5] = ["nrt", "ams", "iad", "syd", "gru"];
        Round {
            ballots: votes
                .iter()
                .zip(NAMES)
                .map(|(vote, name)| Ballot {
                    location: name.to_owned(),
                    outcome: vote
                        .map(outcome)
                        .ok_or_else(|| "no answer within 3s".to_owned()),
                })
                .collect(),
        }
    }

    #[test]
    fn a_round_fails_at_the_quorum_of_failed_votes() {
        // Three locations, quorum 2.
        assert!(!round(&[Some(true), Some(true), Some(true)]).fails(2));
        assert!(
            !round(&[Some(true), Some(false), Some(true)]).fails(2),
            "a minority"
        );
        assert!(
            !round(&[Some(false), Some(true), Some(true)]).fails(2),
            "the monitor alone"
        );
        assert!(round(&[Some(false), Some(false), Some(true)]).fails(2));
        assert!(
            round(&[Some(true), Some(false), Some(false)]).fails(2),
            "two agents agree"
        );
        assert!(round(&[Some(false), Some(false), Some(false)]).fails(2));
        // Quorum 3 of 3: only all three.
        assert!(!round(&[Some(false), Some(false), Some(true)]).fails(3));
        assert!(round(&[Some(false), Some(false), Some(false)]).fails(3));
    }

    #[test]
    fn unreachable_locations_cast_no_vote_and_the_quorum_shrinks_to_the_votes_cast() {
        let both_gone = round(&[Some(false), None, None]);
        assert_eq!(both_gone.count(), (1, 1));
        assert!(
            both_gone.fails(2),
            "alone, the monitor decides as a single monitor would"
        );
        assert!(!round(&[Some(true), None, None]).fails(2));
        // One agent gone: two votes, quorum 2 still needs both.
        assert!(!round(&[Some(false), None, Some(true)]).fails(2));
        assert!(round(&[Some(false), None, Some(false)]).fails(2));
        // Quorum 3 with one gone: min(3, 2) = 2.
        assert!(round(&[Some(false), Some(false), None]).fails(3));
        // Unreachable is never a failure: a round of only the monitor's success passes.
        assert_eq!(round(&[Some(true), None, None]).failing().count(), 0);
        // No vote cast at all is no failure either: min(quorum, 0) failed votes is not enough.
        let silent = round(&[None, None, None]);
        assert_eq!(silent.count(), (0, 0));
        assert!(!silent.fails(2));
        assert!(!silent.fails(0));
    }

    #[test]
    fn the_cause_names_each_failing_location_and_its_reason() {
        let failed = round(&[Some(false), Some(true), Some(false)])
            .outcome(2)
            .unwrap();
        assert!(!failed.ok);
        assert_eq!(
            failed.error.as_deref(),
            Some("nrt: [STATUS] (500) == 200; iad: [STATUS] (500) == 200")
        );
        let minority = round(&[Some(false), Some(true), Some(true)])
            .outcome(2)
            .unwrap();
        assert!(minority.ok, "the monitor's own failure, outvoted");
        assert_eq!(minority.error, None);
        assert_eq!(minority.status_code, Some(500), "its own measurements stay");
        // Alone, the outcome is the monitor's own, cause without a location.
        let alone = Round::alone("nrt", outcome(false)).outcome(1).unwrap();
        assert_eq!(alone, outcome(false));
    }

    /// A prober whose every probe succeeds at once.
    struct Up;

    impl Probe for Up {
        fn probe(&self, _: &Target) -> impl Future<Output = Outcome> + Send {
            std::future::ready(outcome(true))
        }
    }

    #[tokio::test]
    async fn agents_vote_on_probed_targets_and_never_on_push_targets() {
        let config = crate::monitor::config::parse(
            "[[target]]\nname = \"web\"\nurl = \"http://127.0.0.1:1/\"\n\
             [[target]]\nname = \"job\"\nkind = \"push\"\nperiod = \"1h\"\n\
             token = \"${JOB_TOKEN}\"\n",
            |_| Some("0123456789abcdef0123456789abcdef".to_owned()),
        )
        .unwrap();
        // An agent that refuses every connection: it casts no vote, but is asked.
        let agent = Location {
            name: "ams".to_owned(),
            url: "http://127.0.0.1:1/".parse().unwrap(),
            token: "agent-token".to_owned(),
        };
        // The monitor's own client for its agents (rustls with graviola, as in production).
        let client = crate::monitor::probe::Prober::new(Vec::new())
            .unwrap()
            .alert_client();
        let voters = Voters {
            prober: Up,
            location: "nrt".to_owned(),
            agents: Some((Agents::new(client, None), vec![agent])),
        };
        let names = |round: &Round| -> Vec<String> {
            round.ballots.iter().map(|b| b.location.clone()).collect()
        };
        let web = voters.round(&config.targets[0]).await;
        assert_eq!(names(&web), ["nrt", "ams"]);
        assert!(web.ballots[1].outcome.is_err(), "refused: no vote");
        let job = voters.round(&config.targets[1]).await;
        assert_eq!(names(&job), ["nrt"], "a push target is not probed");
    }

    #[test]
    fn votes_keep_every_location_unreachable_ones_as_no_vote() {
        let votes = round(&[Some(true), None, Some(false)]).votes();
        let seen: Vec<(&str, Option<bool>)> =
            votes.iter().map(|v| (v.location.as_str(), v.ok)).collect();
        assert_eq!(
            seen,
            [("nrt", Some(true)), ("ams", None), ("iad", Some(false))]
        );
        assert_eq!(
            votes[1].error.as_deref(),
            Some("unreachable: no answer within 3s")
        );
    }
}
