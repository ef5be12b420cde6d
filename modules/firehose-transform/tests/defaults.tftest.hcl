mock_provider "aws" {
  source = "../lambda-function/tests/mock_aws"

  mock_resource "aws_lambda_function" {
    defaults = { arn = "arn:aws:lambda:eu-west-1:123456789012:function:app-logs-transform" }
  }
  mock_resource "aws_kinesis_firehose_delivery_stream" {
    defaults = { arn = "arn:aws:firehose:eu-west-1:123456789012:deliverystream/app-logs" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/kinesisfirehose/app-logs" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/mock", id = "mock" }
  }
  mock_resource "aws_s3_bucket" {
    defaults = { id = "app-logs-bucket", arn = "arn:aws:s3:::app-logs-bucket" }
  }
}

override_data {
  target = data.aws_iam_policy_document.firehose
  values = { json = "{}" }
}

variables {
  name      = "app-logs"
  image_uri = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/logpipes/firehose_transform@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
}

run "lambda_processor_defaults" {
  command = apply

  assert {
    condition     = aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].compression_format == "GZIP"
    error_message = "objects must be gzip"
  }
  assert {
    condition     = aws_kinesis_firehose_delivery_stream.this.extended_s3_configuration[0].prefix == "logs/!{timestamp:yyyy/MM/dd}/"
    error_message = "default prefix must be logs/!{timestamp:yyyy/MM/dd}/"
  }
  assert {
    condition     = aws_kinesis_firehose_delivery_stream.this.server_side_encryption[0].enabled
    error_message = "the stream must be encrypted at rest"
  }
  assert {
    condition     = module.bucket[0].sse_algorithm == "AES256"
    error_message = "the bucket must be created, encrypted by default (private-bucket's tests cover the rest)"
  }
  assert {
    condition     = module.function[0].environment.OUTPUT_FORMAT == "raw"
    error_message = "the transform writes raw lines by default"
  }
  assert {
    condition     = aws_cloudwatch_log_group.delivery.retention_in_days == 365 && module.function[0].log_group_name == "/aws/lambda/app-logs-transform"
    error_message = "the log groups are kept a year"
  }
  assert {
    condition     = toset(keys(output.alarm_arns)) == toset(["firehose-freshness", "processing-failures", "transform-errors", "transform-throttles", "transform-failed-records"])
    error_message = "freshness, errors, throttles, processing failures and failed records alarms expected"
  }
  assert {
    condition     = module.function[0].alarms["failed-records"].dimensions == tomap({ service = "app-logs-transform" }) && module.function[0].environment.POWERTOOLS_SERVICE_NAME == "app-logs-transform"
    error_message = "the failed-records alarm watches this stack's service name, the one the function publishes under"
  }
  assert {
    condition     = aws_glue_catalog_table.this[0].parameters["storage.location.template"] == "s3://app-logs-bucket/logs/$${dt}/"
    error_message = "partition projection must follow the date prefix"
  }
  assert {
    condition     = aws_glue_catalog_table.this[0].storage_descriptor[0].ser_de_info[0].serialization_library == "org.apache.hadoop.hive.serde2.RegexSerDe"
    error_message = "raw output is read one line per row"
  }
}

run "iam_is_scoped" {
  command = apply

  # Firehose writes only under its two prefixes and invokes only its own function.
  assert {
    condition = toset(flatten([
      for s in data.aws_iam_policy_document.firehose.statement : s.resources if s.sid == "WriteItsPrefixes"
    ])) == toset(["arn:aws:s3:::app-logs-bucket/logs/*", "arn:aws:s3:::app-logs-bucket/errors/*"])
    error_message = "Firehose may write only logs/* and errors/* of its bucket"
  }
  assert {
    condition = toset(flatten([
      for s in data.aws_iam_policy_document.firehose.statement : s.resources if s.sid == "InvokeItsTransform"
    ])) == toset(["arn:aws:lambda:eu-west-1:123456789012:function:app-logs-transform", "arn:aws:lambda:eu-west-1:123456789012:function:app-logs-transform:*"])
    error_message = "Firehose may invoke only its transform"
  }
  # The Lambda may put records back into its own stream only.
  assert {
    condition = one([
      for s in data.aws_iam_policy_document.function.statement : s if s.sid == "ReingestIntoItsStream"
      ]).resources == toset(["arn:aws:firehose:eu-west-1:123456789012:deliverystream/app-logs"]) && one([
      for s in data.aws_iam_policy_document.function.statement : s if s.sid == "ReingestIntoItsStream"
    ]).actions == toset(["firehose:PutRecordBatch"])
    error_message = "the Lambda may only PutRecordBatch into its own stream"
  }
  # CloudWatch Logs may only put into this stream, assumed from this account's log groups.
  assert {
    condition     = one(data.aws_iam_policy_document.cloudwatch_logs.statement).resources == toset(["arn:aws:firehose:eu-west-1:123456789012:deliverystream/app-logs"])
    error_message = "the subscription role may only put into this stream"
  }
}

run "json_output" {
  command = apply

  variables {
    output_format = "json"
  }

  assert {
    condition     = module.function[0].environment.OUTPUT_FORMAT == "json"
    error_message = "OUTPUT_FORMAT must follow output_format"
  }
  assert {
    condition     = aws_glue_catalog_table.this[0].storage_descriptor[0].ser_de_info[0].serialization_library == "org.openx.data.jsonserde.JsonSerDe" && length(aws_glue_catalog_table.this[0].storage_descriptor[0].columns) == 6
    error_message = "json output is read with the JSON SerDe and six columns"
  }
}

run "second_stack_in_the_same_account" {
  command   = apply
  state_key = "second"

  variables {
    name = "web-logs"
  }

  assert {
    condition     = module.function[0].alarms["failed-records"].dimensions == tomap({ service = "web-logs-transform" })
    error_message = "another stack's failed-records alarm watches its own service name"
  }
}

run "two_stacks_have_distinct_alarm_dimensions" {
  command = plan

  assert {
    condition     = run.lambda_processor_defaults.service_name != run.second_stack_in_the_same_account.service_name
    error_message = "two stacks in one account must not share the service dimension of their alarms"
  }
}
