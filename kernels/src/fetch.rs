//! Downloads for the crawlers, behind a trait so a crawl can be pointed at anything that serves bytes.

use std::time::Duration;

#[derive(Debug, Clone, thiserror::Error)]
pub enum FetchError {
    /// The server answered 404 or 410: the file is not there (a suite the mirror does not carry).
    #[error("{url}: not found (HTTP {status})")]
    NotFound { url: String, status: u16 },
    #[error("{url}: HTTP {status} (the mirror may be down; try again later or pass another mirror)")]
    Status { url: String, status: u16 },
    #[error("{url}: {reason} (check the mirror URL and the network)")]
    Transport { url: String, reason: String },
}

impl FetchError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, FetchError::NotFound { .. })
    }
}

/// Something that returns the body of a URL. `Sync` so a crawl can ask about many URLs at once.
pub trait Fetch: Sync {
    fn get(&self, url: &str) -> Result<Vec<u8>, FetchError>;

    /// Whether `url` is there, without needing its body (HTTP overrides this with a HEAD request).
    fn exists(&self, url: &str) -> Result<bool, FetchError> {
        match self.get(url) {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// HTTP through blocking reqwest: a connect and a whole-request timeout, and retries (with a short
/// pause) of transport errors and 5xx answers, which mirrors give under load and which a second try
/// usually clears. A 4xx is final.
pub struct HttpFetch {
    client: reqwest::blocking::Client,
    attempts: u32,
    pause: Duration,
}

impl HttpFetch {
    pub fn new(timeout: Duration, attempts: u32) -> Result<HttpFetch, FetchError> {
        let client = reqwest::blocking::Client::builder()
            .connect_timeout(Duration::from_secs(10).min(timeout))
            .timeout(timeout)
            .user_agent(concat!("kernel-crawler/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| FetchError::Transport { url: String::new(), reason: e.to_string() })?;
        Ok(HttpFetch { client, attempts: attempts.max(1), pause: Duration::from_millis(300) })
    }

    fn once(&self, url: &str, head: bool) -> Result<Vec<u8>, FetchError> {
        let transport = |e: reqwest::Error| FetchError::Transport { url: url.to_owned(), reason: error_chain(&e) };
        let req = if head { self.client.head(url) } else { self.client.get(url) };
        let resp = req.send().map_err(transport)?;
        let status = resp.status().as_u16();
        match status {
            200..=299 if head => Ok(Vec::new()),
            200..=299 => Ok(resp.bytes().map_err(transport)?.to_vec()),
            404 | 410 => Err(FetchError::NotFound { url: url.to_owned(), status }),
            _ => Err(FetchError::Status { url: url.to_owned(), status }),
        }
    }
}

impl HttpFetch {
    fn retried(&self, url: &str, head: bool) -> Result<Vec<u8>, FetchError> {
        let mut attempt = 1;
        loop {
            match self.once(url, head) {
                Err(e @ (FetchError::Transport { .. } | FetchError::Status { status: 500..=599, .. }))
                    if attempt < self.attempts =>
                {
                    tracing::debug!(%url, attempt, error = %e, "retrying");
                    std::thread::sleep(self.pause * attempt);
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}

impl Fetch for HttpFetch {
    fn get(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        self.retried(url, false)
    }

    fn exists(&self, url: &str) -> Result<bool, FetchError> {
        match self.retried(url, true) {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// Asks whether each of `urls` is there, `parallel` at a time (through [`Fetch::exists`], so with the
/// fetcher's timeouts and retries); the answers come in the order of `urls`.
pub fn exists_all(web: &dyn Fetch, urls: &[String], parallel: usize) -> Vec<Result<bool, FetchError>> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    let next = AtomicUsize::new(0);
    let answers: Mutex<Vec<Option<Result<bool, FetchError>>>> = Mutex::new(vec![None; urls.len()]);
    std::thread::scope(|scope| {
        for _ in 0..parallel.clamp(1, urls.len().max(1)) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(url) = urls.get(i) else { break };
                let answer = web.exists(url);
                if let Ok(mut all) = answers.lock() {
                    all[i] = Some(answer);
                }
            });
        }
    });
    answers
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .into_iter()
        .zip(urls)
        .map(|(a, url)| {
            a.unwrap_or_else(|| Err(FetchError::Transport { url: url.clone(), reason: "the check did not run".into() }))
        })
        .collect()
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        text.push_str(": ");
        text.push_str(&s.to_string());
        cur = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Counts how many `exists` calls run at once; `missing/...` is absent, `down/...` fails.
    #[derive(Default)]
    struct Counting {
        now: AtomicUsize,
        most: AtomicUsize,
    }
    impl Fetch for Counting {
        fn get(&self, url: &str) -> Result<Vec<u8>, FetchError> {
            Err(FetchError::Transport { url: url.into(), reason: "get is not used".into() })
        }
        fn exists(&self, url: &str) -> Result<bool, FetchError> {
            let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
            self.most.fetch_max(n, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(20));
            self.now.fetch_sub(1, Ordering::SeqCst);
            if url.starts_with("down/") {
                return Err(FetchError::Status { url: url.into(), status: 503 });
            }
            Ok(!url.starts_with("missing/"))
        }
    }

    #[test]
    fn exists_all_answers_in_order_and_at_most_parallel_at_once() {
        let web = Counting::default();
        let urls: Vec<String> = (0..40)
            .map(|i| match i % 4 {
                1 => format!("missing/{i}"),
                3 => format!("down/{i}"),
                _ => format!("ok/{i}"),
            })
            .collect();
        let answers = exists_all(&web, &urls, 8);
        assert_eq!(answers.len(), 40);
        for (url, a) in urls.iter().zip(&answers) {
            match a {
                Ok(found) => assert_eq!(*found, url.starts_with("ok/"), "{url}"),
                Err(e) => assert!(url.starts_with("down/") && e.to_string().contains("HTTP 503"), "{url}: {e}"),
            }
        }
        let most = web.most.load(Ordering::SeqCst);
        assert!((2..=8).contains(&most), "{most} at once");
        assert!(exists_all(&web, &[], 8).is_empty());
    }
}
