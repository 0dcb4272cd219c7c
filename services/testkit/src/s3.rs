use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};

use crate::ports::ServerProcess;

/// A bucket of its own for one test on the S3 API server behind `S3_ENDPOINT`.
pub struct TestBucket {
    pub name: String,
    pub endpoint: String,
    pub client: aws_sdk_s3::Client,
}

impl TestBucket {
    /// The variables a service needs to use this bucket (endpoint, name, the S3 API server's
    /// test credentials), for `Command::envs`.
    pub fn env(&self) -> [(&'static str, String); 4] {
        [
            ("S3_ENDPOINT", self.endpoint.clone()),
            ("S3_BUCKET", self.name.clone()),
            ("AWS_ACCESS_KEY_ID", "test".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
        ]
    }

    /// A new bucket on the shared server of `make test`.
    pub async fn create() -> TestBucket {
        TestBucket::create_on(&crate::required_env("S3_ENDPOINT")).await
    }

    /// A new bucket on the server at `endpoint`.
    pub async fn create_on(endpoint: &str) -> TestBucket {
        let client = client_for(endpoint);
        let name = format!("test-{}", uuid::Uuid::new_v4().simple());
        client.create_bucket().bucket(&name).send().await.expect("create the test bucket");
        TestBucket { name, endpoint: endpoint.to_owned(), client }
    }

    /// Put many small objects, `parallel` requests at a time.
    pub async fn put_many(&self, keys: &[String], parallel: usize) {
        use futures::StreamExt;
        futures::stream::iter(keys).for_each_concurrent(parallel, |key| self.put(key, b"x".to_vec())).await;
    }

    pub async fn put(&self, key: &str, body: Vec<u8>) {
        self.client.put_object().bucket(&self.name).key(key).body(body.into()).send().await.expect("put object");
    }

    pub async fn keys(&self) -> Vec<String> {
        let mut keys = Vec::new();
        let mut pages = self.client.list_objects_v2().bucket(&self.name).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.expect("list objects");
            keys.extend(page.contents().iter().filter_map(|object| object.key().map(str::to_owned)));
        }
        keys
    }
}

/// An S3 client for a local S3 API server: path-style addressing, static test credentials.
pub fn client_for(endpoint: &str) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "testkit"))
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// A private S3 API server (moto) for tests that stop it. Killed when dropped. Its objects live
/// in memory, so a restarted server is empty.
pub struct S3Server {
    process: ServerProcess,
    port: u16,
}

impl S3Server {
    pub async fn start() -> S3Server {
        let mut server = S3Server { process: ServerProcess::default(), port: crate::free_port() };
        server.spawn().await;
        server
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn client(&self) -> aws_sdk_s3::Client {
        client_for(&self.endpoint())
    }

    pub fn stop(&mut self) {
        self.process.kill_holding(&[self.port]);
    }

    /// Freeze the server (SIGSTOP): connections are accepted by the kernel but nothing answers,
    /// so clients hang until their timeouts — an S3 that stopped responding. Objects are kept.
    pub fn pause(&self) {
        self.send("STOP");
    }

    /// Let a paused server run again (SIGCONT).
    pub fn unpause(&self) {
        self.send("CONT");
    }

    fn send(&self, signal: &str) {
        let pid = self.process.id().expect("the server is running");
        let status = std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} {pid} failed");
    }

    /// Start again on the same port (empty).
    pub async fn restart(&mut self) {
        self.stop();
        self.spawn().await;
    }

    async fn spawn(&mut self) {
        self.process.release_ports();
        let bin = std::env::var("MOTO_SERVER_BIN").unwrap_or_else(|_| "moto_server".to_owned());
        let child = std::process::Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &self.port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {bin}: {e}"));
        self.process.started(child);
        let client = self.client();
        crate::wait_until("the S3 API server to answer", std::time::Duration::from_secs(30), || {
            let client = client.clone();
            async move { client.list_buckets().send().await.is_ok() }
        })
        .await;
    }
}
