locals {
  lambda_invoke = "arn:${local.partition}:states:::lambda:invoke"

  # Transient Lambda service errors: retried on every step.
  lambda_retry = {
    ErrorEquals     = ["Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException", "Lambda.TooManyRequestsException"]
    IntervalSeconds = 2
    MaxAttempts     = 6
    BackoffRate     = 2
    JitterStrategy  = "FULL"
  }

  # Payloads: Prepare gets the execution input; Plan gets {"request": input, "execution": name};
  # each Map item is one chunk of the list Plan wrote; Report gets the files, the Map's results
  # (ResultWriterDetails) and the start time. The tests and the demo execute this definition under
  # moto's ASL interpreter (devtools/step_functions.py); asl-validator checks it statically.
  definition = {
    Comment        = "logpipes es-bulk-loader: S3 log files -> line-aligned chunks -> parallel _bulk loads into OpenSearch -> report"
    StartAt        = "Prepare"
    TimeoutSeconds = var.execution_timeout_seconds
    States = {
      Prepare = {
        Type           = "Task"
        Comment        = "Put the index template (typed mapping) and the optional ingest pipeline; idempotent."
        Resource       = local.lambda_invoke
        Parameters     = { FunctionName = module.function["prepare"].function_arn, "Payload.$" = "$" }
        ResultSelector = { "template.$" = "$.Payload.template", "index_pattern.$" = "$.Payload.index_pattern" }
        ResultPath     = "$.prepare"
        Retry          = [local.lambda_retry]
        Next           = "Plan"
      }
      Plan = {
        Type     = "Task"
        Comment  = "List the objects and cut them into line-aligned chunks; write the chunk list to S3."
        Resource = local.lambda_invoke
        Parameters = {
          FunctionName = module.function["plan"].function_arn
          Payload      = { "request.$" = "$", "execution.$" = "$$.Execution.Name" }
        }
        ResultSelector = { "manifest.$" = "$.Payload.manifest", "files.$" = "$.Payload.files", "chunks.$" = "$.Payload.chunks" }
        ResultPath     = "$.plan"
        Retry          = [local.lambda_retry]
        Next           = "Load"
      }
      # 0 tolerated failures is the Map's default; stating it trips moto's ASL grammar, which wants a
      # decimal point there.
      Load = merge({
        Type    = "Map"
        Comment = "One child execution per chunk: parse and bulk-index it."
        ItemReader = {
          Resource     = "arn:${local.partition}:states:::s3:getObject"
          ReaderConfig = { InputType = "JSON" }
          Parameters   = { "Bucket.$" = "$.plan.manifest.bucket", "Key.$" = "$.plan.manifest.key" }
        }
        ItemProcessor = {
          ProcessorConfig = { Mode = "DISTRIBUTED", ExecutionType = "STANDARD" }
          StartAt         = "LoadChunk"
          States = {
            LoadChunk = {
              Type       = "Task"
              Resource   = local.lambda_invoke
              Parameters = { FunctionName = module.function["load"].function_arn, "Payload.$" = "$" }
              OutputPath = "$.Payload"
              Retry = [
                local.lambda_retry,
                # The cluster kept answering 429/5xx to whole requests: try the chunk again later
                # (documents have deterministic ids, so this overwrites, never duplicates).
                { ErrorEquals = ["BulkUnavailable"], IntervalSeconds = 30, MaxAttempts = 3, BackoffRate = 2, JitterStrategy = "FULL" },
              ]
              End = true
            }
          }
        }
        MaxConcurrency = var.max_concurrency
        ResultWriter = {
          Resource   = "arn:${local.partition}:states:::s3:putObject"
          Parameters = { Bucket = local.work_bucket, Prefix = local.results_prefix }
        }
        ResultPath = "$.load"
        Next       = "Report"
      }, var.tolerated_failure_percentage > 0 ? { ToleratedFailurePercentage = var.tolerated_failure_percentage } : {})
      Report = {
        Type     = "Task"
        Comment  = "Lines read, indexed, failed, dead-lettered and time taken, per file and in total; also as metrics."
        Resource = local.lambda_invoke
        Parameters = {
          FunctionName = module.function["report"].function_arn
          Payload = {
            "files.$"      = "$.plan.files"
            "results.$"    = "$.load.ResultWriterDetails"
            "started_at.$" = "$$.Execution.StartTime"
          }
        }
        OutputPath = "$.Payload"
        Retry      = [local.lambda_retry]
        End        = true
      }
    }
  }
}

resource "aws_cloudwatch_log_group" "state_machine" {
  # checkov:skip=CKV_AWS_338:Execution history of the loader (no log data); log_retention_in_days sets how long it is kept.
  # /aws/vendedlogs/ keeps CloudWatch Logs' resource policy small when many state machines log.
  name              = "/aws/vendedlogs/states/${var.name}"
  retention_in_days = var.log_retention_in_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_sfn_state_machine" "this" {
  name       = var.name
  type       = "STANDARD"
  role_arn   = aws_iam_role.state_machine.arn
  definition = jsonencode(local.definition)
  tags       = var.tags

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.state_machine.arn}:*"
    include_execution_data = true
    level                  = var.state_machine_log_level
  }

  tracing_configuration {
    enabled = true
  }

  dynamic "encryption_configuration" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]
    content {
      type                              = "CUSTOMER_MANAGED_KMS_KEY"
      kms_key_id                        = encryption_configuration.value
      kms_data_key_reuse_period_seconds = 300
    }
  }

  depends_on = [aws_iam_role_policy.state_machine]
}
