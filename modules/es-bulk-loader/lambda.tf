resource "aws_cloudwatch_log_group" "lambda" {
  for_each = local.functions
  # checkov:skip=CKV_AWS_338:Operational logs of the loader (the data is in OpenSearch); log_retention_days sets how long they are kept.

  name              = "/aws/lambda/${var.name}-${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_lambda_function" "this" {
  for_each = local.functions
  # checkov:skip=CKV_AWS_116:Invoked synchronously by Step Functions, which retries and records failures; a function DLQ applies to asynchronous invocations only.
  # checkov:skip=CKV_AWS_272:Code signing does not apply to container images (build.py pins images by digest).

  function_name                  = "${var.name}-${each.key}"
  description                    = "logpipes es-bulk-loader: ${each.value.description}"
  role                           = aws_iam_role.lambda[each.key].arn
  package_type                   = "Image"
  image_uri                      = var.image_uri
  architectures                  = [var.lambda_architecture]
  memory_size                    = each.value.memory_size
  timeout                        = each.value.timeout
  reserved_concurrent_executions = each.key == "load" ? var.load_reserved_concurrency : -1
  kms_key_arn                    = var.kms_key_arn
  tags                           = var.tags

  image_config {
    command = [each.value.handler]
  }

  environment {
    variables = merge(local.common_environment, each.value.environment)
  }

  tracing_config {
    mode = "Active"
  }

  dynamic "vpc_config" {
    for_each = each.value.in_vpc && var.vpc_config != null ? [var.vpc_config] : []
    content {
      subnet_ids         = vpc_config.value.subnet_ids
      security_group_ids = vpc_config.value.security_group_ids
    }
  }

  depends_on = [aws_cloudwatch_log_group.lambda, aws_iam_role_policy.lambda]
}
