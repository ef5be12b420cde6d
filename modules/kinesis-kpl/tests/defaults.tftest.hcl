mock_provider "aws" {
  source = "../lambda-function/tests/mock_aws"

  mock_resource "aws_kinesis_stream" {
    defaults = { arn = "arn:aws:kinesis:eu-west-1:123456789012:stream/web-logs" }
  }
  mock_resource "aws_sqs_queue" {
    defaults = {
      arn  = "arn:aws:sqs:eu-west-1:123456789012:web-logs-failures"
      id   = "https://sqs.eu-west-1.amazonaws.com/123456789012/web-logs-failures"
      name = "web-logs-failures"
    }
  }
  mock_resource "aws_lambda_function" {
    defaults = { arn = "arn:aws:lambda:eu-west-1:123456789012:function:web-logs-consumer" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/web-logs-consumer" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/mock", id = "mock" }
  }
  mock_resource "aws_iam_policy" {
    defaults = { arn = "arn:aws:iam::123456789012:policy/web-logs-producer" }
  }
  mock_resource "aws_s3_bucket" {
    defaults = { id = "web-logs-bucket", arn = "arn:aws:s3:::web-logs-bucket" }
  }
}

variables {
  name      = "web-logs"
  image_uri = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/logpipes/kinesis_kpl@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
}

run "defaults" {
  command = apply

  # The stream: on-demand, KMS-encrypted even without a customer managed key.
  assert {
    condition     = aws_kinesis_stream.this.encryption_type == "KMS" && aws_kinesis_stream.this.kms_key_id == "alias/aws/kinesis"
    error_message = "the stream must be KMS-encrypted by default"
  }
  assert {
    condition     = aws_kinesis_stream.this.stream_mode_details[0].stream_mode == "ON_DEMAND" && aws_kinesis_stream.this.shard_count == null
    error_message = "the default stream is on-demand"
  }

  # The event source mapping: partial failures, bisect, bounded retries, failures parked in the queue.
  assert {
    condition     = aws_lambda_event_source_mapping.this.function_response_types == toset(["ReportBatchItemFailures"])
    error_message = "the mapping must let the handler report the failed record"
  }
  assert {
    condition     = aws_lambda_event_source_mapping.this.bisect_batch_on_function_error
    error_message = "bisect on error must be on"
  }
  assert {
    condition     = aws_lambda_event_source_mapping.this.destination_config[0].on_failure[0].destination_arn == "arn:aws:s3:::web-logs-bucket"
    error_message = "given-up batches must go, data included, to the module's bucket"
  }
  assert {
    condition     = one([for s in data.aws_iam_policy_document.function.statement : s if s.sid == "RetainFailedBatches"]).actions == toset(["s3:PutObject", "s3:ListBucket"])
    error_message = "an S3 on-failure destination needs s3:PutObject and s3:ListBucket"
  }
  assert {
    condition     = one([for s in data.aws_iam_policy_document.function.statement : s if s.sid == "RetainFailedBatches"]).resources == toset(["arn:aws:s3:::web-logs-bucket", "arn:aws:s3:::web-logs-bucket/aws/lambda/*"])
    error_message = "the failed batches are written under aws/lambda/ of the module's bucket only"
  }
  assert {
    condition     = output.failed_batches_prefix == "aws/lambda/${aws_lambda_event_source_mapping.this.uuid}/"
    error_message = "the prefix of the failed batches is output"
  }
  assert {
    condition     = aws_lambda_event_source_mapping.this.maximum_retry_attempts == 10 && aws_lambda_event_source_mapping.this.maximum_record_age_in_seconds == 21600
    error_message = "retries and record age must be bounded, so that a poison batch cannot block its shard"
  }
  assert {
    condition     = aws_lambda_event_source_mapping.this.event_source_arn == "arn:aws:kinesis:eu-west-1:123456789012:stream/web-logs" && aws_lambda_event_source_mapping.this.starting_position == "TRIM_HORIZON"
    error_message = "the mapping reads this stream from its oldest record"
  }
  assert {
    condition     = module.failures.kms_key_arn == null && module.failures.name == "web-logs-failures"
    error_message = "the failure queue is private-queue's (SQS managed SSE without a key, TLS only: its tests)"
  }

  # The producer policy: this stream only.
  assert {
    condition     = data.aws_iam_policy_document.producer.statement[0].resources == toset(["arn:aws:kinesis:eu-west-1:123456789012:stream/web-logs"])
    error_message = "the producer may put into this stream only"
  }
  assert {
    condition     = data.aws_iam_policy_document.producer.statement[0].actions == toset(["kinesis:PutRecord", "kinesis:PutRecords", "kinesis:DescribeStream", "kinesis:ListShards"])
    error_message = "the producer gets PutRecord(s), DescribeStream and ListShards, nothing else on Kinesis"
  }
  assert {
    condition     = [for s in data.aws_iam_policy_document.producer.statement : s.sid if contains(tolist(s.resources), "*")] == ["ProducerMetrics"]
    error_message = "the only statement on every resource is the metrics one"
  }
  assert {
    condition     = one([for s in data.aws_iam_policy_document.producer.statement : s if s.sid == "ProducerMetrics"]).actions == toset(["cloudwatch:PutMetricData"])
    error_message = "the metrics statement allows PutMetricData only"
  }
  assert {
    condition     = toset(one(one([for s in data.aws_iam_policy_document.producer.statement : s if s.sid == "ProducerMetrics"]).condition).values) == toset(["KinesisProducerLibrary"])
    error_message = "PutMetricData is limited to the KPL's namespace"
  }
  assert {
    condition     = length(data.aws_iam_policy_document.producer.statement) == 2 && aws_iam_policy.producer[0].arn == output.producer_policy_arn
    error_message = "without a customer managed key the producer needs no KMS permission; the managed policy is output"
  }

  # The consumer: its prefixes only, its queue, this stream.
  assert {
    condition     = [for s in data.aws_iam_policy_document.function.statement : s.resources if s.sid == "WriteItsPrefixes"][0] == toset(["arn:aws:s3:::web-logs-bucket/apache/*", "arn:aws:s3:::web-logs-bucket/dead-letter/*"])
    error_message = "the consumer writes under its two prefixes only"
  }
  assert {
    condition     = [for s in data.aws_iam_policy_document.function.statement : s.resources if s.sid == "ReadThisStream"][0] == toset(["arn:aws:kinesis:eu-west-1:123456789012:stream/web-logs"])
    error_message = "the consumer reads this stream only"
  }
  assert {
    condition = module.function.environment == tomap({
      SINK_BUCKET                  = "web-logs-bucket"
      SINK_PREFIX                  = "apache/"
      DEAD_LETTER_PREFIX           = "dead-letter/"
      GZIP_LEVEL                   = "2"
      POWERTOOLS_SERVICE_NAME      = "web-logs-consumer"
      POWERTOOLS_METRICS_NAMESPACE = "logpipes"
      POWERTOOLS_LOG_LEVEL         = "INFO"
    })
    error_message = "the function's settings must follow the variables"
  }
  assert {
    condition     = output.function_name == "web-logs-consumer" && output.service_name == "web-logs-consumer"
    error_message = "the consumer is named, and publishes its metrics, after the stack"
  }

  # The sink bucket (private-bucket's tests cover privacy, TLS and the lifecycle rule's form).
  assert {
    condition     = module.bucket[0].sse_algorithm == "AES256"
    error_message = "the bucket must be created, encrypted by default"
  }

  assert {
    condition     = toset(keys(output.alarm_arns)) == toset(["iterator-age", "errors", "throttles", "failed-records", "batches-given-up", "failure-destination-errors", "corrupt-aggregates", "invalid-base64-records"])
    error_message = "iterator age, errors, throttles, failed records, given-up batches, destination failures, corrupt aggregates and invalid base64 records alarms expected"
  }
  # A batch given up on must fire an alarm with the default S3 destination too, where nothing
  # reaches the failure queue: the alarm watches the mapping's own count of records it sent there.
  assert {
    condition     = aws_lambda_event_source_mapping.this.metrics_config[0].metrics == toset(["EventCount"])
    error_message = "the mapping must emit its event counts (OnFailureDestinationDeliveredEventCount among them)"
  }
  assert {
    condition     = module.function.alarms["batches-given-up"].metric_name == "OnFailureDestinationDeliveredEventCount" && module.function.alarms["batches-given-up"].namespace == "AWS/Lambda" && module.function.alarms["batches-given-up"].dimensions == tomap({ EventSourceMappingUUID = aws_lambda_event_source_mapping.this.uuid })
    error_message = "the given-up batches alarm watches what this mapping sends to its on-failure destination, not the failure queue"
  }
  assert {
    condition     = module.function.alarms["iterator-age"].dimensions == tomap({ FunctionName = "web-logs-consumer" })
    error_message = "iterator age is the consumer's"
  }
  assert {
    condition     = module.function.alarms["invalid-base64-records"].metric_name == "InvalidBase64Records" && module.function.alarms["invalid-base64-records"].dimensions == tomap({ service = "web-logs-consumer" })
    error_message = "records dead-lettered for data that is not base64 must fire an alarm"
  }
  assert {
    condition     = module.function.alarms["failed-records"].dimensions == tomap({ service = "web-logs-consumer" }) && module.function.alarms["corrupt-aggregates"].dimensions == tomap({ service = "web-logs-consumer" }) && module.function.alarms["corrupt-aggregates"].name == "web-logs-corrupt-aggregates"
    error_message = "the custom-metric alarms watch this stack's service name, the one the consumer publishes under"
  }
}

run "provisioned_with_customer_managed_key" {
  command = apply

  variables {
    stream_mode = "PROVISIONED"
    shard_count = 4
    kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    gzip_level  = 1
  }

  assert {
    condition     = aws_kinesis_stream.this.shard_count == 4 && aws_kinesis_stream.this.stream_mode_details[0].stream_mode == "PROVISIONED"
    error_message = "a provisioned stream has shard_count shards"
  }
  assert {
    condition     = aws_kinesis_stream.this.kms_key_id == var.kms_key_arn && module.failures.kms_key_arn == var.kms_key_arn
    error_message = "the stream and the queue use the customer managed key"
  }
  assert {
    condition     = one([for s in data.aws_iam_policy_document.producer.statement : s.actions if s.sid == "EncryptIntoThisStream"]) == toset(["kms:GenerateDataKey"])
    error_message = "the producer needs GenerateDataKey on the stream's key"
  }
  assert {
    condition     = one([for s in data.aws_iam_policy_document.function.statement : s.resources if s.sid == "EncryptObjects"]) == toset([var.kms_key_arn])
    error_message = "the consumer encrypts objects with the bucket's key"
  }
  assert {
    condition     = module.bucket[0].sse_algorithm == "aws:kms"
    error_message = "the created bucket uses the customer managed key"
  }
  assert {
    condition     = module.function.environment.GZIP_LEVEL == "1"
    error_message = "gzip_level reaches the function"
  }
}

run "existing_bucket" {
  command = apply

  variables {
    create_bucket          = false
    bucket_name            = "central-logs"
    bucket_kms_key_arn     = "arn:aws:kms:eu-west-1:123456789012:key/99999999-2222-3333-4444-555555555555"
    prefix                 = "web/apache/"
    create_alarms          = false
    create_producer_policy = false
  }

  assert {
    condition     = length(module.bucket) == 0 && output.bucket_name == "central-logs"
    error_message = "no bucket is created for an existing one"
  }
  assert {
    condition     = [for s in data.aws_iam_policy_document.function.statement : s.resources if s.sid == "WriteItsPrefixes"][0] == toset(["arn:aws:s3:::central-logs/web/apache/*", "arn:aws:s3:::central-logs/dead-letter/*"])
    error_message = "the consumer writes under its prefixes of the existing bucket"
  }
  assert {
    condition     = one([for s in data.aws_iam_policy_document.function.statement : s.resources if s.sid == "EncryptObjects"]) == toset([var.bucket_kms_key_arn])
    error_message = "the consumer may encrypt with the existing bucket's key"
  }
  assert {
    condition     = aws_lambda_event_source_mapping.this.destination_config[0].on_failure[0].destination_arn == "arn:aws:s3:::central-logs"
    error_message = "given-up batches go to the existing bucket"
  }
  assert {
    condition     = length(output.alarm_arns) == 0 && output.producer_policy_arn == null
    error_message = "alarms and the managed producer policy are optional"
  }
}

run "failed_batches_to_the_queue" {
  command = apply

  variables {
    failed_batches_destination = "sqs"
  }

  assert {
    condition     = aws_lambda_event_source_mapping.this.destination_config[0].on_failure[0].destination_arn == "arn:aws:sqs:eu-west-1:123456789012:web-logs-failures"
    error_message = "with \"sqs\" the on-failure destination is the module's queue"
  }
  assert {
    condition     = length([for s in data.aws_iam_policy_document.function.statement : s if s.sid == "RetainFailedBatches"]) == 0 && output.failed_batches_prefix == null
    error_message = "without the S3 destination the consumer gets no ListBucket and no aws/lambda/ prefix"
  }
  assert {
    condition     = module.function.alarms["batches-given-up"].dimensions == tomap({ EventSourceMappingUUID = aws_lambda_event_source_mapping.this.uuid }) && module.function.alarms["batches-given-up"].metric_name == "OnFailureDestinationDeliveredEventCount"
    error_message = "with \"sqs\" the same mapping metric fires"
  }
}

run "second_stack_in_the_same_account" {
  command = apply

  variables {
    name                 = "app-logs"
    permissions_boundary = "arn:aws:iam::123456789012:policy/platform-boundary"
  }

  assert {
    condition     = module.function.alarms["failed-records"].dimensions == tomap({ service = "app-logs-consumer" })
    error_message = "another stack's custom-metric alarms watch its own service name"
  }
}

run "two_stacks_have_distinct_alarm_dimensions" {
  command = plan

  assert {
    condition     = run.defaults.service_name != run.second_stack_in_the_same_account.service_name
    error_message = "two stacks in one account must not share the service dimension of their alarms (they did: both were kinesis-kpl)"
  }
}
