# The example in an empty account: only image_uris given.
mock_provider "aws" {
  source = "../../modules/lambda-function/tests/mock_aws"
}

variables {
  image_uris = { kinesis_kpl = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/logpipes/kinesis_kpl:abc123" }
}

run "empty_account_defaults_plan" {
  command = plan

  assert {
    condition     = startswith(aws_iam_role.producer.name_prefix, "web-access-logs-producer-")
    error_message = "the example must create the producer's role"
  }
  assert {
    condition     = module.kinesis_kpl.stream_name == "web-access-logs"
    error_message = "the example must create the stream the producers write to"
  }
}

run "needs_the_consumer_image" {
  command = plan

  variables {
    image_uris = {}
  }

  expect_failures = [var.image_uris]
}
