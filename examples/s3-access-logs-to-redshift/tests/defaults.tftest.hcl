# The example in an empty account: only image_uris given, Redshift Serverless is created.
mock_provider "aws" {
  source = "../../modules/lambda-function/tests/mock_aws"
}

variables {
  image_uris = { s3log_redshift = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/logpipes/s3log_redshift:abc123" }
}

run "empty_account_creates_redshift_serverless" {
  command = plan

  assert {
    condition     = length(aws_redshiftserverless_namespace.this) == 1 && length(aws_redshiftserverless_workgroup.this) == 1
    error_message = "with no cluster or workgroup given, the example must create a Serverless namespace and workgroup"
  }
  assert {
    condition     = aws_redshiftserverless_namespace.this[0].manage_admin_password && aws_redshiftserverless_namespace.this[0].db_name == "dev"
    error_message = "the namespace's admin password must be managed by Secrets Manager, in the loader's database"
  }
  assert {
    condition     = aws_redshiftserverless_workgroup.this[0].base_capacity == 8 && !aws_redshiftserverless_workgroup.this[0].publicly_accessible
    error_message = "the workgroup must be the smallest (8 RPUs) and private"
  }
  assert {
    condition     = aws_redshiftserverless_workgroup.this[0].namespace_name == "photo-access-logs"
    error_message = "the workgroup must belong to the created namespace"
  }
}

run "an_existing_cluster_creates_no_warehouse" {
  command = plan

  variables {
    redshift_cluster_identifier = "photo-analytics"
  }

  assert {
    condition     = length(aws_redshiftserverless_namespace.this) == 0 && length(aws_redshiftserverless_workgroup.this) == 0
    error_message = "an existing cluster must not create Serverless resources"
  }
}

run "an_existing_workgroup_creates_no_warehouse" {
  command = plan

  variables {
    redshift_workgroup_name = "analytics"
  }

  assert {
    condition     = length(aws_redshiftserverless_namespace.this) == 0 && length(aws_redshiftserverless_workgroup.this) == 0
    error_message = "an existing workgroup must not create Serverless resources"
  }
}

run "not_both_a_cluster_and_a_workgroup" {
  command = plan

  variables {
    redshift_cluster_identifier = "photo-analytics"
    redshift_workgroup_name     = "analytics"
  }

  expect_failures = [var.redshift_workgroup_name]
}
