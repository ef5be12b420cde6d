resource "aws_cloudwatch_log_group" "this" {
  name              = "/aws/lambda/${var.name}"
  retention_in_days = var.log_retention_in_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_lambda_function" "this" {
  # checkov:skip=CKV_AWS_116:Asynchronous failures go to the on-failure destination (failures.tf), which keeps the error with the payload; a DLQ would keep the payload only.
  # checkov:skip=CKV_AWS_272:Lambda code signing does not apply to container images.
  function_name                  = var.name
  description                    = "logpipes subscription_filter: archive CloudWatch Logs deliveries into day files on EFS."
  role                           = aws_iam_role.this.arn
  package_type                   = "Image"
  image_uri                      = var.image_uri
  architectures                  = [var.architecture]
  memory_size                    = var.memory_size
  timeout                        = var.timeout
  reserved_concurrent_executions = var.reserved_concurrent_executions
  kms_key_arn                    = var.kms_key_arn

  environment {
    variables = local.environment
  }

  vpc_config {
    subnet_ids         = var.subnet_ids
    security_group_ids = [aws_security_group.lambda.id]
  }

  file_system_config {
    arn              = aws_efs_access_point.this.arn
    local_mount_path = var.mount_path
  }

  tracing_config {
    mode = var.tracing_mode
  }

  tags = var.tags

  # The function mounts the file system when it starts: the mount targets and the NFS rules
  # must exist, and its log group must exist with its retention before the first invocation.
  depends_on = [
    aws_efs_mount_target.this,
    aws_vpc_security_group_ingress_rule.efs_from_lambda,
    aws_vpc_security_group_egress_rule.lambda_to_efs,
    aws_iam_role_policy.function,
    aws_cloudwatch_log_group.this,
  ]
}
