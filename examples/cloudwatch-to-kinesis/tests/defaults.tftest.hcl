# The example in an empty account: no input at all (no image: the subscription needs no Lambda).
mock_provider "aws" {
  source = "../../modules/subscription-filter/tests/mock_aws"
}

run "empty_account_defaults_plan" {
  command = plan

  assert {
    condition     = aws_kinesis_stream.logs.shard_count == 1 && aws_kinesis_stream.logs.encryption_type == "KMS"
    error_message = "the example must create one encrypted one-shard stream"
  }
  assert {
    condition     = aws_kms_key.stream.enable_key_rotation
    error_message = "the stream's key must rotate"
  }
  assert {
    condition     = aws_cloudwatch_log_group.app.name == "/logpipes/logs-to-kinesis/app"
    error_message = "the example must create the subscribed log group"
  }
}
