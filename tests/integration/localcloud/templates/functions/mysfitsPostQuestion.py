"""The workshop's POST /questions (a Lambda proxy): the question goes into the table."""

import json
import os
import uuid

import boto3

table = boto3.client("dynamodb")


def postQuestion(event, context):  # the workshop's handler name
    question = json.loads(event["body"])
    table.put_item(
        TableName=os.environ["QUESTIONS_TABLE"],
        Item={
            "QuestionId": {"S": str(uuid.uuid4())},
            "QuestionText": {"S": question["questionText"]},
            "UserEmailAddress": {"S": question["email"]},
        },
    )
    return {
        "statusCode": 200,
        "headers": {
            "Access-Control-Allow-Origin": "*",
            "Access-Control-Allow-Headers": "*",
            "Access-Control-Allow-Methods": "*",
        },
        "body": json.dumps({"status": "success"}),
    }
