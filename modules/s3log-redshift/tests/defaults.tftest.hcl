mock_provider "aws" {
  source = "../lambda-function/tests/mock_aws"

  mock_resource "aws_sqs_queue" {
    defaults = {
      arn = "arn:aws:sqs:eu-west-1:123456789012:photo-logs-queue"
      id  = "https://sqs.eu-west-1.amazonaws.com/123456789012/photo-logs-queue"
    }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/mock", id = "mock", name = "mock" }
  }
  mock_resource "aws_s3_bucket" {
    defaults = { id = "photo-logs-staging", arn = "arn:aws:s3:::photo-logs-staging" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/photo-logs-loader" }
  }
  mock_resource "aws_lambda_function" {
    defaults = { arn = "arn:aws:lambda:eu-west-1:123456789012:function:photo-logs-loader" }
  }
}

variables {
  name                        = "photo-logs"
  image_uri                   = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/logpipes/s3log_redshift@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
  log_bucket_name             = "photo-service-logs"
  log_prefix                  = "s3-access/"
  redshift_cluster_identifier = "analytics"
  redshift_secret_arn         = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:redshift-loader-AbCdEf"
}

run "cluster_with_secret" {
  command = apply

  # Queues (private-queue's tests cover encryption, TLS only and the redrive policy's form).
  assert {
    condition     = module.queue.kms_key_arn == null && module.queue.dead_letter_queue_arn != null && output.dead_letter_queue_arn == module.queue.dead_letter_queue_arn
    error_message = "the notification queue has a dead-letter queue, SSE-SQS without a KMS key"
  }
  assert {
    condition     = module.queue.visibility_timeout_seconds == 300 * 6 + 60
    error_message = "visibility timeout must be 6 x the function timeout + the batching window"
  }
  assert {
    condition     = { for c in one(data.aws_iam_policy_document.notifications.statement).condition : c.variable => c.values } == { "aws:SourceArn" = tolist(["arn:aws:s3:::photo-service-logs"]), "aws:SourceAccount" = tolist(["123456789012"]) }
    error_message = "only the log bucket of this account may send notifications"
  }

  # S3 notifications of the log prefix only.
  assert {
    condition     = one(aws_s3_bucket_notification.log_bucket[0].queue).filter_prefix == "s3-access/"
    error_message = "only objects under the access-log prefix must be notified"
  }
  assert {
    condition     = one(aws_s3_bucket_notification.log_bucket[0].queue).events == toset(["s3:ObjectCreated:*"])
    error_message = "only created objects must be notified"
  }

  # The event source mapping: batches, window, partial failures.
  assert {
    condition     = aws_lambda_event_source_mapping.this.function_response_types == toset(["ReportBatchItemFailures"])
    error_message = "the mapping must let the loader report failed messages"
  }
  assert {
    condition     = aws_lambda_event_source_mapping.this.batch_size == 500 && aws_lambda_event_source_mapping.this.maximum_batching_window_in_seconds == 60
    error_message = "default batching must be 500 notifications or 60 s"
  }
  assert {
    condition     = one(aws_lambda_event_source_mapping.this.scaling_config).maximum_concurrency == 2
    error_message = "concurrency must be limited on the mapping"
  }

  # No network path into the cluster: no VPC config, no security group rule, Data API only.
  assert {
    condition     = module.function.vpc_config == null
    error_message = "the loader must not run in a VPC: it reaches Redshift through the Data API"
  }
  assert {
    condition = alltrue([
      for action in flatten(data.aws_iam_policy_document.function.statement[*].actions) :
      !startswith(action, "ec2:") && !startswith(action, "redshift:Authorize") && !startswith(action, "redshift:Modify")
    ])
    error_message = "the loader must not be able to open security groups or change the cluster"
  }
  assert {
    condition = toset([
      for action in flatten(data.aws_iam_policy_document.function.statement[*].actions) : action
      if startswith(action, "redshift") || startswith(action, "secretsmanager")
      ]) == toset([
      "redshift-data:BatchExecuteStatement", "redshift-data:ExecuteStatement", "redshift-data:DescribeStatement",
      "redshift-data:GetStatementResult", "redshift-data:CancelStatement", "secretsmanager:GetSecretValue",
    ])
    error_message = "database access must be the Data API with the secret, nothing else"
  }
  assert {
    condition     = one([for s in data.aws_iam_policy_document.function.statement : s.resources if s.sid == "RunStatementsOnThisDatabase"]) == toset(["arn:aws:redshift:eu-west-1:123456789012:cluster:analytics"])
    error_message = "statements may run on the configured cluster only"
  }
  assert {
    condition     = one([for s in data.aws_iam_policy_document.function.statement : s.resources if s.sid == "DatabaseCredentialsFromTheSecret"]) == toset([var.redshift_secret_arn])
    error_message = "the loader may read the configured secret only"
  }
  assert {
    condition     = one([for s in data.aws_iam_policy_document.function.statement : s.resources if s.sid == "ReadAccessLogs"]) == toset(["arn:aws:s3:::photo-service-logs/s3-access/*"])
    error_message = "the loader may read the access-log prefix only"
  }

  # The function's configuration.
  assert {
    condition     = module.function.environment.REDSHIFT_CLUSTER_IDENTIFIER == "analytics" && !contains(keys(module.function.environment), "REDSHIFT_WORKGROUP_NAME")
    error_message = "the loader must target the cluster"
  }
  assert {
    condition     = module.function.environment.LEDGER_TABLE == "s3_access_log_ledger" && module.function.environment.TARGET_SCHEMA == "logpipes"
    error_message = "default table names"
  }
  assert {
    condition     = module.function.environment.REDSHIFT_COPY_ROLE_ARN == aws_iam_role.copy[0].arn
    error_message = "COPY must use the module's copy role"
  }

  # Staging bucket: encrypted, private, expiring.
  assert {
    condition     = module.staging_bucket[0].sse_algorithm == "AES256"
    error_message = "the staging bucket must be created, encrypted by default (private-bucket's tests cover the rest)"
  }
  assert {
    condition     = [for r in local.staging_lifecycle_rules : r.id] == ["expire-staged-files", "expire-rejects", "abort-incomplete-uploads"] && local.staging_lifecycle_rules[0].expiration_days == 7 && local.staging_lifecycle_rules[1].expiration_days == 90
    error_message = "staged files and rejects must expire"
  }

  # Alarms.
  assert {
    condition     = toset(keys(output.alarm_arns)) == toset(["dead-letters", "oldest-notification", "errors", "throttles", "failed-loads", "rejected-lines"])
    error_message = "alarms: DLQ depth, oldest message age, loader errors and throttles, failed loads, rejected lines"
  }
  assert {
    condition     = module.function.alarms["failed-loads"].dimensions == tomap({ service = "photo-logs-loader" }) && module.function.environment.POWERTOOLS_SERVICE_NAME == "photo-logs-loader" && module.function.alarms["failed-loads"].name == "photo-logs-failed-loads"
    error_message = "the loader's metrics alarms must use its service name"
  }
  assert {
    condition     = output.target_table == "logpipes.s3_access_log" && output.ledger_table == "logpipes.s3_access_log_ledger"
    error_message = "outputs must name the tables"
  }
}

run "copy_role_reads_staged_files_only" {
  command = apply

  assert {
    condition     = one([for s in data.aws_iam_policy_document.copy.statement : s.resources if s.sid == "ReadStagedFiles"]) == toset(["arn:aws:s3:::photo-logs-staging/staging/*"])
    error_message = "Redshift may read the staging prefix only"
  }
  assert {
    condition     = toset(flatten(data.aws_iam_policy_document.copy.statement[*].actions)) == toset(["s3:GetObject", "s3:GetBucketLocation"])
    error_message = "the copy role reads, nothing else"
  }
  assert {
    condition     = toset(one(data.aws_iam_policy_document.copy_assume.statement[0].principals).identifiers) == toset(["redshift.amazonaws.com"])
    error_message = "only Redshift may assume the copy role"
  }
}

run "second_stack_in_the_same_account" {
  command   = apply
  state_key = "second"

  variables {
    name                 = "video-logs"
    permissions_boundary = "arn:aws:iam::123456789012:policy/platform-boundary"
    role_path            = "/logpipes/"
  }

  assert {
    condition     = module.function.alarms["failed-loads"].dimensions == tomap({ service = "video-logs-loader" }) && module.function.alarms["rejected-lines"].dimensions == tomap({ service = "video-logs-loader" })
    error_message = "another stack's custom-metric alarms watch its own service name"
  }
  assert {
    condition     = aws_iam_role.copy[0].permissions_boundary == var.permissions_boundary && aws_iam_role.copy[0].path == "/logpipes/"
    error_message = "the permissions boundary and role path apply to every role the module creates"
  }
}

run "two_stacks_have_distinct_alarm_dimensions" {
  command = plan

  assert {
    condition     = run.cluster_with_secret.service_name != run.second_stack_in_the_same_account.service_name
    error_message = "two stacks in one account must not share the service dimension of their alarms"
  }
}
