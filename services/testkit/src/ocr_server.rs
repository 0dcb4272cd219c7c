//! `lol-ocr serve` as a child process on a free port, and its one request, for the tests of the
//! HTTP reader and of the extract worker's `http` mode.

use std::process::Stdio;

use tokio::process::{Child, Command};

use crate::PortHold;

pub struct OcrServer {
    child: Child,
    port: u16,
}

/// A server killed by [`OcrServer::kill`], its port kept for it.
pub struct KilledOcrServer {
    port: u16,
    held: Option<PortHold>,
}

impl KilledOcrServer {
    /// Start again on the same port, with `env`.
    pub async fn restart(self, env: &[(&str, &str)]) -> OcrServer {
        drop(self.held);
        OcrServer::start_on(self.port, env).await
    }
}

/// One answer of `POST /v1/extract`.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub retry_after: Option<String>,
    pub body: serde_json::Value,
}

impl OcrServer {
    /// Start on a free port with `env` (e.g. `OCR_CONCURRENCY`) and wait until `/readyz` is 200.
    pub async fn start(env: &[(&str, &str)]) -> OcrServer {
        OcrServer::start_on(crate::free_port(), env).await
    }

    async fn start_on(port: u16, env: &[(&str, &str)]) -> OcrServer {
        let child = OcrServer::spawn(port, env);
        crate::wait_ready(port, "lol-ocr serve").await;
        OcrServer { child, port }
    }

    /// Spawned, not waited for (for a start that is expected to fail).
    pub fn spawn(port: u16, env: &[(&str, &str)]) -> Child {
        Command::new(crate::binary("lol-ocr"))
            .arg("serve")
            .env("OCR_LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("OMP_THREAD_LIMIT", "1")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn lol-ocr serve")
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn child(&mut self) -> &mut Child {
        &mut self.child
    }

    /// SIGTERM: finish the requests in flight, then exit.
    pub fn terminate(&self) {
        crate::signal(&self.child, "TERM");
    }

    /// SIGKILL and wait until the process is gone; its port is held for
    /// [`KilledOcrServer::restart`] (see [`PortHold`]).
    pub async fn kill(mut self) -> KilledOcrServer {
        self.child.kill().await.expect("kill lol-ocr serve");
        KilledOcrServer { port: self.port, held: PortHold::new(self.port).ok() }
    }

    /// The server's peak resident memory so far (`VmHWM`), in MiB.
    pub fn peak_memory_mib(&self) -> u64 {
        let pid = self.child.id().expect("lol-ocr serve is running");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc/<pid>/status");
        let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM in /proc/<pid>/status");
        let kib: u64 = line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).expect("VmHWM in kB");
        kib / 1024
    }

    /// `POST /v1/extract` with `input` and `image` as the two multipart parts.
    pub async fn extract(&self, input: &[u8], image: &[u8]) -> Reply {
        self.post(self.form(input, image), &[]).await
    }

    /// The multipart body of a request, for tests that vary it.
    pub fn form(&self, input: &[u8], image: &[u8]) -> reqwest::multipart::Form {
        let input = reqwest::multipart::Part::bytes(input.to_vec()).mime_str("application/json").expect("a MIME type");
        reqwest::multipart::Form::new()
            .part("input", input)
            .part("image", reqwest::multipart::Part::bytes(image.to_vec()))
    }

    /// `POST /v1/extract` with `form` and extra `headers`.
    pub async fn post(&self, form: reqwest::multipart::Form, headers: &[(&str, &str)]) -> Reply {
        let mut request = reqwest::Client::new().post(format!("{}/v1/extract", self.url())).multipart(form);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        Reply::of(request.send().await.expect("lol-ocr serve answers")).await
    }

    /// `POST /v1/extract` with a raw body and content type (requests that are not multipart).
    pub async fn post_raw(&self, content_type: &str, body: Vec<u8>) -> Reply {
        let request = reqwest::Client::new()
            .post(format!("{}/v1/extract", self.url()))
            .header("content-type", content_type)
            .body(body);
        Reply::of(request.send().await.expect("lol-ocr serve answers")).await
    }

    /// `POST /v1/extract` with a body the server will refuse before reading it all (over its
    /// limit). The server answers and closes with the rest unread, so a client that writes the
    /// whole body first (reqwest) fails on a broken pipe; this one writes and reads at once and
    /// takes the answer whatever happens to the write.
    pub async fn post_refused_early(&self, body_bytes: usize) -> Reply {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let stream = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.expect("connect");
        let (mut reader, mut writer) = stream.into_split();
        let boundary = "testkit-boundary";
        let head = format!(
            "POST /v1/extract HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\n\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"image\"\r\n\r\n",
            body_bytes + 80
        );
        let writing = tokio::spawn(async move {
            let _ = writer.write_all(head.as_bytes()).await;
            let _ = writer.write_all(&vec![0u8; body_bytes + 80]).await;
            writer
        });
        let mut answer = Vec::new();
        let mut chunk = [0u8; 8192];
        // Until the answer's body is complete or the connection ends.
        while let Ok(n) = reader.read(&mut chunk).await {
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&chunk[..n]);
            if Reply::parse_raw(&answer).is_some() {
                break;
            }
        }
        writing.abort();
        Reply::parse_raw(&answer).unwrap_or_else(|| panic!("no whole answer: {:?}", String::from_utf8_lossy(&answer)))
    }
}

impl Reply {
    /// An HTTP/1.1 answer with a `content-length`, once all of it is in `raw`.
    fn parse_raw(raw: &[u8]) -> Option<Reply> {
        let text = String::from_utf8_lossy(raw);
        let (head, body) = text.split_once("\r\n\r\n")?;
        let status = head.split_whitespace().nth(1)?.parse().ok()?;
        let header = |name: &str| {
            head.lines().find_map(|line| {
                let (key, value) = line.split_once(':')?;
                key.eq_ignore_ascii_case(name).then(|| value.trim().to_owned())
            })
        };
        let length: usize = header("content-length")?.parse().ok()?;
        if body.len() < length {
            return None;
        }
        let body = serde_json::from_str(&body[..length]).ok()?;
        Some(Reply { status, retry_after: header("retry-after"), body })
    }

    async fn of(response: reqwest::Response) -> Reply {
        let status = response.status().as_u16();
        let retry_after = response.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let text = response.text().await.expect("an answer body");
        let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status}: not JSON ({e}): {text}"));
        Reply { status, retry_after, body }
    }
}
