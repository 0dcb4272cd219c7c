use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};

/// A bucket of its own for one test on the S3 API server behind `S3_ENDPOINT`.
pub struct TestBucket {
    pub name: String,
    pub endpoint: String,
    pub client: aws_sdk_s3::Client,
}

impl TestBucket {
    pub async fn create() -> TestBucket {
        let endpoint = crate::required_env("S3_ENDPOINT");
        let client = client_for(&endpoint);
        let name = format!("test-{}", uuid::Uuid::new_v4().simple());
        client
            .create_bucket()
            .bucket(&name)
            .send()
            .await
            .expect("create the test bucket");
        TestBucket {
            name,
            endpoint,
            client,
        }
    }

    pub async fn put(&self, key: &str, body: Vec<u8>) {
        self.client
            .put_object()
            .bucket(&self.name)
            .key(key)
            .body(body.into())
            .send()
            .await
            .expect("put object");
    }

    pub async fn keys(&self) -> Vec<String> {
        let mut keys = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.name)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.expect("list objects");
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|object| object.key().map(str::to_owned)),
            );
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
