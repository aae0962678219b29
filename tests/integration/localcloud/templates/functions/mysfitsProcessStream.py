"""The workshop's stream function: each new question is published to the topic."""

import os

import boto3

sns = boto3.client("sns")


def processStream(event, context):  # the workshop's handler name
    for record in event["Records"]:
        image = record["dynamodb"]["NewImage"]
        email = image["UserEmailAddress"]["S"]
        sns.publish(
            TopicArn=os.environ["SNS_TOPIC_ARN"],
            Subject="New Customer Question: " + email,
            Message="USER EMAIL: " + email + ". QUESTION TEXT: " + image["QuestionText"]["S"],
        )
    return f"Successfully processed {len(event['Records'])} records."
