mock_provider "aws" {
  source = "../lambda-function/tests/mock_aws"

  mock_data "aws_redshiftserverless_workgroup" {
    defaults = { arn = "arn:aws:redshift-serverless:eu-west-1:123456789012:workgroup/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d" }
  }
}

variables {
  name            = "photo-logs"
  image_uri       = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/logpipes/s3log_redshift:abc123"
  log_bucket_name = "photo-service-logs"
}

run "serverless_with_iam_identity_and_a_kms_key" {
  command = plan

  variables {
    redshift_workgroup_name = "photo-analytics"
    kms_key_arn             = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  }

  assert {
    condition     = module.queue.kms_key_arn == var.kms_key_arn
    error_message = "with a KMS key, both queues must use it"
  }
  assert {
    condition     = module.staging_bucket[0].sse_algorithm == "aws:kms"
    error_message = "with a KMS key, the staging bucket must use SSE-KMS"
  }
  assert {
    condition     = one([for s in data.aws_iam_policy_document.function.statement : s.resources if s.sid == "RunStatementsOnThisDatabase"]) == toset(["arn:aws:redshift-serverless:eu-west-1:123456789012:workgroup/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"])
    error_message = "statements may run on the workgroup only"
  }
  assert {
    condition     = contains(flatten(data.aws_iam_policy_document.function.statement[*].actions), "redshift-serverless:GetCredentials") && !contains(flatten(data.aws_iam_policy_document.function.statement[*].actions), "secretsmanager:GetSecretValue")
    error_message = "IAM authentication on Serverless: GetCredentials, no secret"
  }
  assert {
    condition     = module.function.environment.REDSHIFT_WORKGROUP_NAME == "photo-analytics" && !contains(keys(module.function.environment), "REDSHIFT_SECRET_ARN")
    error_message = "the loader must target the workgroup with its IAM identity"
  }
  assert {
    condition     = aws_s3_bucket_notification.log_bucket[0].queue[0].filter_prefix == null
    error_message = "an empty log_prefix notifies the whole bucket"
  }
}

run "cluster_with_database_user" {
  command = plan

  variables {
    redshift_cluster_identifier = "analytics"
    redshift_db_user            = "log_loader"
    create_alarms               = false
    create_bucket_notification  = false
  }

  assert {
    condition     = one([for s in data.aws_iam_policy_document.function.statement : s.resources if s.sid == "TemporaryCredentialsOfTheDatabaseUser"]) == toset(["arn:aws:redshift:eu-west-1:123456789012:dbuser:analytics/log_loader", "arn:aws:redshift:eu-west-1:123456789012:dbname:analytics/dev"])
    error_message = "temporary credentials for that user and database only"
  }
  assert {
    condition     = length(output.alarm_arns) == 0 && length(aws_s3_bucket_notification.log_bucket) == 0
    error_message = "alarms and the notification are optional"
  }
}

run "needs_a_cluster_or_a_workgroup" {
  command         = plan
  expect_failures = [var.redshift_workgroup]
}

run "not_both_cluster_and_workgroup" {
  command = plan
  variables {
    redshift_cluster_identifier = "analytics"
    redshift_workgroup_name     = "photo-analytics"
  }
  expect_failures = [var.redshift_cluster_identifier]
}

run "database_user_is_for_clusters" {
  command = plan
  variables {
    redshift_workgroup_name = "photo-analytics"
    redshift_db_user        = "log_loader"
  }
  expect_failures = [var.redshift_db_user]
}

run "table_names_are_identifiers" {
  command = plan
  variables {
    redshift_cluster_identifier = "analytics"
    target_table                = "Access-Log"
  }
  expect_failures = [var.target_table]
}

run "large_batches_need_a_window" {
  command = plan
  variables {
    redshift_cluster_identifier        = "analytics"
    batch_size                         = 100
    maximum_batching_window_in_seconds = 0
  }
  expect_failures = [var.maximum_batching_window_in_seconds]
}

run "prefixes_must_not_overlap" {
  command = plan
  variables {
    redshift_cluster_identifier = "analytics"
    rejects_prefix              = "staging/rejects/"
  }
  expect_failures = [var.rejects_prefix]
}

run "own_function_role" {
  command = plan
  variables {
    redshift_cluster_identifier = "analytics"
    create_function_role        = false
    function_role_arn           = "arn:aws:iam::123456789012:role/platform/log-loader"
  }
  assert {
    condition     = output.role_arn == var.function_role_arn && output.role_name == null
    error_message = "a role passed in is the loader's role; the module creates none"
  }
}

run "kms_alias_is_rejected" {
  command = plan
  variables {
    redshift_cluster_identifier = "analytics"
    kms_key_arn                 = "arn:aws:kms:eu-west-1:123456789012:alias/logs"
  }
  expect_failures = [var.kms_key_arn]
}

run "workgroup_of_the_same_configuration_is_not_looked_up" {
  command = plan

  variables {
    redshift_workgroup = {
      workgroup_name = "photo-analytics"
      arn            = "arn:aws:redshift-serverless:eu-west-1:123456789012:workgroup/11111111-2222-3333-4444-555555555555"
    }
  }

  assert {
    condition     = length(data.aws_redshiftserverless_workgroup.this) == 0
    error_message = "a workgroup passed as an object must not be looked up (a plan would look before it exists)"
  }
  assert {
    condition     = one([for s in data.aws_iam_policy_document.function.statement : s.resources if s.sid == "RunStatementsOnThisDatabase"]) == toset([var.redshift_workgroup.arn])
    error_message = "statements may run on the given workgroup only"
  }
  assert {
    condition     = module.function.environment.REDSHIFT_WORKGROUP_NAME == "photo-analytics"
    error_message = "the loader must target the given workgroup"
  }
}

run "not_both_workgroup_forms" {
  command = plan
  variables {
    redshift_workgroup_name = "photo-analytics"
    redshift_workgroup      = { workgroup_name = "photo-analytics", arn = "arn:aws:redshift-serverless:eu-west-1:123456789012:workgroup/x" }
  }
  expect_failures = [var.redshift_workgroup]
}
