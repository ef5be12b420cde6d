# The AWS account every module's terraform tests run against (mock_provider "aws" { source =
# "../lambda-function/tests/mock_aws" }): real values where the modules build ARNs from them, and
# real JSON for IAM documents (the mock provider fills strings with random text).

mock_data "aws_caller_identity" { defaults = { account_id = "123456789012" } }
mock_data "aws_region" { defaults = { name = "eu-west-1" } }
mock_data "aws_partition" { defaults = { partition = "aws" } }
mock_data "aws_iam_policy_document" { defaults = { json = "{}" } }
