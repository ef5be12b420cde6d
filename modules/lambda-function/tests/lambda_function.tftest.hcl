mock_provider "aws" {
  source = "./tests/mock_aws"

  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/web-consumer" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/web-consumer-0001", name = "web-consumer-0001", id = "web-consumer-0001" }
  }
}

variables {
  name        = "web-consumer"
  image_uri   = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/logpipes/kinesis_kpl@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
  environment = { SINK_BUCKET = "web-logs" }
  policy_documents = [jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Sid = "WriteItsPrefix", Effect = "Allow", Action = "s3:PutObject", Resource = "arn:aws:s3:::web-logs/apache/*" }]
  })]
  alarms = {
    failed-records = { description = "Records failed.", namespace = "logpipes", metric = "FailedRecords" }
    iterator-age   = { description = "Behind.", namespace = "AWS/Lambda", metric = "IteratorAge", statistic = "Maximum", threshold = 600000 }
  }
}

run "defaults" {
  command = apply

  assert {
    condition     = aws_lambda_function.this.package_type == "Image" && aws_lambda_function.this.architectures == tolist(["x86_64"]) && aws_lambda_function.this.reserved_concurrent_executions == -1
    error_message = "An x86_64 image function, unreserved by default."
  }
  assert {
    condition     = aws_lambda_function.this.tracing_config[0].mode == "PassThrough" && [for s in data.aws_iam_policy_document.this.statement : s.sid] == ["OwnLogs"]
    error_message = "No handler uses the Tracer: tracing is PassThrough and the role gets no X-Ray permissions."
  }
  assert {
    condition = output.environment == tomap({
      SINK_BUCKET                  = "web-logs"
      POWERTOOLS_SERVICE_NAME      = "web-consumer"
      POWERTOOLS_METRICS_NAMESPACE = "logpipes"
      POWERTOOLS_LOG_LEVEL         = "INFO"
    })
    error_message = "The caller's environment plus the Powertools settings; the service name is the function name."
  }
  assert {
    condition     = aws_cloudwatch_log_group.this.name == "/aws/lambda/web-consumer" && aws_cloudwatch_log_group.this.retention_in_days == 30 && aws_cloudwatch_log_group.this.kms_key_id == null
    error_message = "The function's log group, kept 30 days."
  }
  assert {
    condition = (
      one(one(data.aws_iam_policy_document.assume.statement).condition).variable == "aws:SourceAccount" &&
      one(one(data.aws_iam_policy_document.assume.statement).condition).values == tolist(["123456789012"]) &&
      one(one(data.aws_iam_policy_document.assume.statement).principals).identifiers == toset(["lambda.amazonaws.com"])
    )
    error_message = "Only Lambda in this account may assume the role."
  }
  assert {
    condition = (
      data.aws_iam_policy_document.this.source_policy_documents == var.policy_documents &&
      one(data.aws_iam_policy_document.this.statement).resources == toset(["arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/web-consumer:*"]) &&
      one(data.aws_iam_policy_document.this.statement).actions == toset(["logs:CreateLogStream", "logs:PutLogEvents"])
    )
    error_message = "The role writes its own log group, plus the caller's statements, nothing more."
  }
  assert {
    condition     = aws_iam_role.this[0].name_prefix == "web-consumer-" && aws_iam_role.this[0].path == "/" && aws_iam_role.this[0].permissions_boundary == null && aws_lambda_function.this.role == output.role_arn
    error_message = "A generated role name from the function name, default path, no boundary."
  }
  assert {
    condition     = toset(keys(output.alarms)) == toset(["errors", "throttles", "failed-records", "iterator-age"])
    error_message = "Errors and Throttles alarms, plus the caller's."
  }
  assert {
    condition = (
      output.alarms["errors"].dimensions == tomap({ FunctionName = "web-consumer" }) &&
      output.alarms["iterator-age"].dimensions == tomap({ FunctionName = "web-consumer" }) &&
      output.alarms["failed-records"].dimensions == tomap({ service = "web-consumer" }) &&
      output.alarms["failed-records"].name == "web-consumer-failed-records" &&
      aws_cloudwatch_metric_alarm.this["iterator-age"].threshold == 600000 && aws_cloudwatch_metric_alarm.this["iterator-age"].statistic == "Maximum"
    )
    error_message = "AWS/ metrics are watched by function name, custom metrics by service name."
  }
}

run "second_stack_in_the_same_account" {
  command   = apply
  state_key = "second"

  variables {
    name = "app-consumer"
  }

  assert {
    condition     = output.service_name == "app-consumer" && output.alarms["failed-records"].dimensions.service == "app-consumer"
    error_message = "Another stack's function publishes under its own service name."
  }
}

run "two_stacks_have_distinct_alarm_dimensions" {
  command = plan

  assert {
    condition     = run.defaults.alarms["failed-records"].dimensions != run.second_stack_in_the_same_account.alarms["failed-records"].dimensions
    error_message = "Two stacks' custom-metric alarms must not watch the same dimensions."
  }
}

run "vpc_file_system_tracing_key_boundary_and_path" {
  command   = apply
  state_key = "everything"

  variables {
    vpc_config                     = { subnet_ids = ["subnet-0a"], security_group_ids = ["sg-0a"] }
    file_system_config             = { access_point_arn = "arn:aws:elasticfilesystem:eu-west-1:123456789012:access-point/fsap-0a", local_mount_path = "/mnt/archive" }
    tracing_mode                   = "Active"
    kms_key_arn                    = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    permissions_boundary           = "arn:aws:iam::123456789012:policy/boundary"
    role_path                      = "/logpipes/"
    reserved_concurrent_executions = 5
    image_command                  = ["logpipes.es_bulk_loader.report_handler"]
    service_name                   = "shared-service"
    log_retention_in_days          = 365
  }

  assert {
    condition     = aws_lambda_function.this.vpc_config[0].subnet_ids == toset(["subnet-0a"]) && aws_lambda_function.this.file_system_config[0].local_mount_path == "/mnt/archive"
    error_message = "VPC and file system configuration reach the function."
  }
  assert {
    condition = (
      [for s in data.aws_iam_policy_document.this.statement : s.sid] == ["OwnLogs", "DecryptOwnEnvironment", "Tracing", "VpcNetworkInterfaces"] &&
      one([for s in data.aws_iam_policy_document.this.statement : one(s.condition).values if s.sid == "DecryptOwnEnvironment"]) == tolist(["lambda.eu-west-1.amazonaws.com"])
    )
    error_message = "Active tracing, a VPC and a key add their statements (the key through Lambda only)."
  }
  assert {
    condition     = aws_lambda_function.this.tracing_config[0].mode == "Active" && aws_lambda_function.this.kms_key_arn == var.kms_key_arn && aws_cloudwatch_log_group.this.kms_key_id == var.kms_key_arn
    error_message = "Tracing and the key reach the function and its log group."
  }
  assert {
    condition     = aws_iam_role.this[0].permissions_boundary == var.permissions_boundary && aws_iam_role.this[0].path == "/logpipes/"
    error_message = "The boundary and path reach the role."
  }
  assert {
    condition     = aws_lambda_function.this.reserved_concurrent_executions == 5 && aws_lambda_function.this.image_config[0].command == tolist(["logpipes.es_bulk_loader.report_handler"])
    error_message = "Reserved concurrency and the handler override reach the function."
  }
  assert {
    condition     = output.environment.POWERTOOLS_SERVICE_NAME == "shared-service" && output.alarms["failed-records"].dimensions.service == "shared-service"
    error_message = "An explicit service name is the metric and alarm dimension."
  }
}

run "bring_your_own_role" {
  command   = apply
  state_key = "own-role"

  variables {
    create_role   = false
    role_arn      = "arn:aws:iam::123456789012:role/platform/web-consumer"
    create_alarms = false
  }

  assert {
    condition     = length(aws_iam_role.this) == 0 && length(aws_iam_role_policy.this) == 0 && aws_lambda_function.this.role == var.role_arn && output.role_name == null
    error_message = "With a role passed in, the module creates none and attaches nothing."
  }
  assert {
    condition     = length(aws_cloudwatch_metric_alarm.this) == 0
    error_message = "Alarms are optional."
  }
}

run "own_role_needs_role_arn" {
  command = plan

  variables {
    create_role = false
  }

  expect_failures = [var.create_role]
}

run "kms_alias_is_rejected" {
  command = plan

  variables {
    kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:alias/logs"
  }

  expect_failures = [var.kms_key_arn]
}

run "alarm_actions_are_arns" {
  command = plan

  variables {
    alarm_actions = ["oncall"]
  }

  expect_failures = [var.alarm_actions]
}

run "retention_is_a_cloudwatch_value" {
  command = plan

  variables {
    log_retention_in_days = 31
  }

  expect_failures = [var.log_retention_in_days]
}

run "powertools_settings_are_not_overridden_through_environment" {
  command = plan

  variables {
    environment = { POWERTOOLS_SERVICE_NAME = "kinesis-kpl" }
  }

  expect_failures = [var.environment]
}

run "reserved_concurrency_is_null_or_a_count" {
  command = plan

  variables {
    reserved_concurrent_executions = -1
  }

  expect_failures = [var.reserved_concurrent_executions]
}

run "file_system_needs_a_vpc" {
  command = plan

  variables {
    file_system_config = { access_point_arn = "arn:aws:elasticfilesystem:eu-west-1:123456789012:access-point/fsap-0a", local_mount_path = "/mnt/archive" }
  }

  expect_failures = [var.file_system_config]
}

run "image_uri_needs_a_tag_or_digest" {
  command = plan

  variables {
    image_uri = "logpipes/kinesis_kpl"
  }

  expect_failures = [var.image_uri]
}
