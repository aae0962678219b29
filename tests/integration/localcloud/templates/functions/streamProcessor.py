"""Firehose's transformation of a click: each record gets the mysfit's traits and a newline
(the workshop's processor looks them up through the mysfits API; here they are fixed)."""

import base64
import json

TRAITS = {"goodevil": "Evil", "lawchaos": "Lawful", "species": "Chimera"}


def processRecord(event, context):  # the workshop's handler name
    output = []
    for record in event["records"]:
        click = json.loads(base64.b64decode(record["data"]))
        enriched = {"userId": click["userId"], "mysfitId": click["mysfitId"], **TRAITS}
        data = base64.b64encode((json.dumps(enriched) + "\n").encode()).decode()
        output.append({"recordId": record["recordId"], "result": "Ok", "data": data})
    return {"records": output}
