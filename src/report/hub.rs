//! GitHub's REST API through octocrab's typed API, on goready's one HTTP stack: octocrab is
//! built on [`ApiService`] (`crate::http::client`), so its requests share the hyper client, the
//! TLS roots, the deadlines, the body cap and the retry policy of every other exchange, and a
//! GitHub Enterprise Server base (`https://ghe.example/api/v3`) keeps its prefix on every call.
//!
//! The rest of goready is synchronous: a [`Hub`] owns a current-thread runtime and runs one
//! octocrab call at a time on it, passing the service's retry notes on to the progress sink as
//! they happen. Errors come back as [`ApiError`]s with the token scrubbed.

use std::cell::RefCell;
use std::future::Future;

use octocrab::{AuthState, Octocrab, OctocrabBuilder};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

use crate::http::client::{ApiService, Retry};
use crate::http::{self, Tls};
use crate::progress::Say;
use crate::report::api::{ApiError, MAX_ANSWER};
use crate::report::redact;

/// An octocrab client for one API root and token, and the runtime its calls run on.
pub struct Hub<'s> {
    rt: tokio::runtime::Runtime,
    crab: Octocrab,
    service: ApiService,
    notes: RefCell<UnboundedReceiver<String>>,
    token: String,
    say: Say<'s>,
}

impl<'s> Hub<'s> {
    /// A client for `api_url` (`$GITHUB_API_URL`) with `token`; retries are said to `say`.
    pub fn new(api_url: &str, token: String, say: Say<'s>) -> Result<Hub<'s>, String> {
        let rt = http::runtime().map_err(|e| format!("cannot start the HTTP runtime: {e}"))?;
        let (tx, rx) = unbounded_channel();
        let service = ApiService::new(
            api_url,
            &Tls::default(),
            Retry::default(),
            MAX_ANSWER,
            Some(tx),
        )?;
        let crab = {
            // octocrab's request queue starts its worker task on the current runtime.
            let _inside = rt.enter();
            OctocrabBuilder::new_empty()
                .with_service(service.clone())
                .with_auth(AuthState::AccessToken {
                    token: token.clone().into(),
                })
                .build()
                .map_err(|e| format!("cannot build the GitHub client: {e}"))?
        };
        Ok(Hub {
            rt,
            crab,
            service,
            notes: RefCell::new(rx),
            token,
            say,
        })
    }

    /// The typed API.
    pub fn octocrab(&self) -> &Octocrab {
        &self.crab
    }

    /// Removes the token from any text before it is shown.
    pub fn scrub(&self, text: &str) -> String {
        redact(text, &self.token)
    }

    /// Runs one octocrab call (`what` names it in messages) to its end, saying each retry as
    /// it happens.
    pub fn run<T>(
        &self,
        what: &str,
        call: impl Future<Output = octocrab::Result<T>>,
    ) -> Result<T, ApiError> {
        let mut notes = self.notes.borrow_mut();
        let out = self.rt.block_on(async {
            let mut call = std::pin::pin!(call);
            loop {
                tokio::select! {
                    biased;
                    out = &mut call => break out,
                    Some(note) = notes.recv() => {
                        self.say.warn(self.scrub(&format!("{what}: {note}")));
                    }
                }
            }
        });
        out.map_err(|e| self.api_error(what, e))
    }

    fn api_error(&self, what: &str, e: octocrab::Error) -> ApiError {
        let attempts = self.service.last_attempts();
        let gave_up = if attempts > 1 {
            format!(" (gave up after {attempts} attempts)")
        } else {
            String::new()
        };
        match e {
            octocrab::Error::GitHub { source, .. } => ApiError {
                status: Some(source.status_code.as_u16()),
                message: self.scrub(&format!("{}{gave_up}", source.message.trim())),
            },
            octocrab::Error::Service { source, .. } => ApiError {
                status: None,
                message: self.scrub(&format!("{source}{gave_up}")),
            },
            other => ApiError {
                status: None,
                message: self.scrub(&format!(
                    "{what}: the answer is not what GitHub sends: {other}"
                )),
            },
        }
    }
}
