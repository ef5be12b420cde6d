# One container-image Lambda function with what every logpipes function needs: its role (or a
# role passed in), its own log group, the statements to write there, and its Errors and Throttles
# alarms. The pipeline modules add their own statements, environment and alarms.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

locals {
  # The Powertools service name is the dimension of the function's custom metrics: derived from
  # the function name, which is unique per account and region, so that two stacks of one module
  # never share an alarm.
  service_name      = coalesce(var.service_name, var.name)
  alarm_name_prefix = coalesce(var.alarm_name_prefix, var.name)
  role_arn          = var.create_role ? aws_iam_role.this[0].arn : var.role_arn

  environment = merge(var.environment, {
    POWERTOOLS_SERVICE_NAME      = local.service_name
    POWERTOOLS_METRICS_NAMESPACE = var.metrics_namespace
    POWERTOOLS_LOG_LEVEL         = var.log_level
  })
}

resource "aws_cloudwatch_log_group" "this" {
  # checkov:skip=CKV_AWS_158:Encrypted with kms_key_arn when given; CloudWatch Logs' own encryption otherwise.
  # checkov:skip=CKV_AWS_338:The function's own logs are operational (the data lands elsewhere); log_retention_in_days sets how long they are kept.
  name              = "/aws/lambda/${var.name}"
  retention_in_days = var.log_retention_in_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_lambda_function" "this" {
  # checkov:skip=CKV_AWS_116:Every logpipes function is invoked by an event source mapping, Firehose, Step Functions or with an on-failure destination: a function DLQ would never receive anything (see each module's README).
  # checkov:skip=CKV_AWS_117:VPC placement is the caller's choice (vpc_config): most functions only call public AWS endpoints.
  # checkov:skip=CKV_AWS_272:Code signing does not apply to container images (build.py pins images by digest).
  # checkov:skip=CKV_AWS_173:The environment holds configuration only, no secrets; it is encrypted with kms_key_arn when given.
  # checkov:skip=CKV_AWS_115:Reserved concurrency is the caller's choice (reserved_concurrent_executions, null = unreserved).
  function_name                  = var.name
  description                    = var.description
  role                           = local.role_arn
  package_type                   = "Image"
  image_uri                      = var.image_uri
  architectures                  = [var.architecture]
  memory_size                    = var.memory_size
  timeout                        = var.timeout
  reserved_concurrent_executions = var.reserved_concurrent_executions == null ? -1 : var.reserved_concurrent_executions
  kms_key_arn                    = var.kms_key_arn
  tags                           = var.tags

  dynamic "image_config" {
    for_each = var.image_command == null ? [] : [var.image_command]
    content {
      command = image_config.value
    }
  }

  environment {
    variables = local.environment
  }

  # No handler uses the Powertools Tracer: PassThrough (the default) sends no segments of its own.
  tracing_config {
    mode = var.tracing_mode
  }

  dynamic "vpc_config" {
    for_each = var.vpc_config == null ? [] : [var.vpc_config]
    content {
      subnet_ids         = vpc_config.value.subnet_ids
      security_group_ids = vpc_config.value.security_group_ids
    }
  }

  dynamic "file_system_config" {
    for_each = var.file_system_config == null ? [] : [var.file_system_config]
    content {
      arn              = file_system_config.value.access_point_arn
      local_mount_path = file_system_config.value.local_mount_path
    }
  }

  # The log group must exist with its retention, and the role hold its permissions, before the
  # first invocation.
  depends_on = [aws_cloudwatch_log_group.this, aws_iam_role_policy.this]
}
