mock_provider "aws" {
  source = "../lambda-function/tests/mock_aws"

  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/mock", id = "mock", name = "mock" }
  }
  mock_resource "aws_lambda_function" {
    defaults = { arn = "arn:aws:lambda:eu-west-1:123456789012:function:nasa-logs-step" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/nasa-logs-step" }
  }
  mock_resource "aws_sfn_state_machine" {
    defaults = { arn = "arn:aws:states:eu-west-1:123456789012:stateMachine:nasa-logs" }
  }
}

variables {
  name                = "nasa-logs"
  image_uri           = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/logpipes/es_bulk_loader:abc"
  opensearch_endpoint = "search-nasa-logs-abc123.eu-west-1.es.amazonaws.com"
  opensearch_arn      = "arn:aws:es:eu-west-1:123456789012:domain/nasa-logs"
  source_bucket_name  = "nasa-http-logs"
}

run "uppercase_index_pattern" {
  command = plan
  variables {
    index_pattern = "NASA-%Y"
  }
  expect_failures = [var.index_pattern]
}

run "hourly_index_pattern_is_not_supported" {
  command = plan
  variables {
    index_pattern = "logs-%Y.%m.%d-%H"
  }
  expect_failures = [var.index_pattern]
}

run "arn_of_something_else" {
  command = plan
  variables {
    opensearch_arn = "arn:aws:s3:::nasa-logs"
  }
  expect_failures = [var.opensearch_arn]
}

run "endpoint_with_a_path" {
  command = plan
  variables {
    opensearch_endpoint = "https://search-x.es.amazonaws.com/_bulk"
  }
  expect_failures = [var.opensearch_endpoint]
}

run "tiny_chunks" {
  command = plan
  variables {
    chunk_bytes = 100
  }
  expect_failures = [var.chunk_bytes]
}

run "huge_bulk_requests" {
  command = plan
  variables {
    bulk_bytes = 209715200
  }
  expect_failures = [var.bulk_bytes]
}

run "concurrency_out_of_range" {
  command = plan
  variables {
    max_concurrency = 0
  }
  expect_failures = [var.max_concurrency]
}

run "tolerated_failures_over_100" {
  command = plan
  variables {
    tolerated_failure_percentage = 101
  }
  expect_failures = [var.tolerated_failure_percentage]
}

run "work_prefix_without_slash" {
  command = plan
  variables {
    work_prefix = "work"
  }
  expect_failures = [var.work_prefix]
}

run "ingest_pipeline_not_json" {
  command = plan
  variables {
    ingest_pipeline = "{processors: []"
  }
  expect_failures = [var.ingest_pipeline]
}

run "trigger_outside_the_readable_prefix" {
  command = plan
  variables {
    source_prefix = "raw/"
    s3_trigger    = { enabled = true, prefix = "other/" }
  }
  expect_failures = [var.s3_trigger]
}

# The loader writes chunks into the source bucket: a trigger on the whole bucket would loop.
run "trigger_over_the_loaders_own_objects" {
  command = plan
  variables {
    s3_trigger = { enabled = true, prefix = "" }
  }
  expect_failures = [aws_cloudwatch_event_rule.object_created]
}

run "trigger_next_to_the_loaders_own_objects" {
  command = plan
  variables {
    s3_trigger = { enabled = true, prefix = "raw/" }
  }
  assert {
    condition     = length(aws_cloudwatch_event_rule.object_created) == 1
    error_message = "a trigger prefix apart from the work and dead-letter prefixes is fine"
  }
}
