import pytest

from mysfits_lab.localcloud.edge import ServiceError
from mysfits_lab.localcloud.services.s3_website.configuration import check_configuration


@pytest.mark.parametrize(
    "config",
    [
        {"IndexDocument": {"Suffix": "index.html"}},
        {"IndexDocument": {"Suffix": "index.html"}, "ErrorDocument": {"Key": "errors/404.html"}},
        {"RedirectAllRequestsTo": {"HostName": "example.com", "Protocol": "https"}},
    ],
)
def test_what_s3_accepts(config):
    check_configuration(config)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({}, "must be provided if RedirectAllRequestsTo is empty"),
        ({"ErrorDocument": {"Key": "error.html"}}, "must be provided"),
        ({"IndexDocument": {}}, "not well formed"),
        ({"IndexDocument": {"Suffix": ""}}, "not well formed"),
        ({"IndexDocument": {"Suffix": "/index.html"}}, "not well formed"),
        (
            {
                "RedirectAllRequestsTo": {"HostName": "example.com"},
                "RoutingRules": [{"Redirect": {"HostName": "example.org"}}],
            },
            "cannot be provided in conjunction",
        ),
    ],
)
def test_what_s3_refuses(config, message):
    with pytest.raises(ServiceError) as error:
        check_configuration(config)
    assert (error.value.code, error.value.status) == ("InvalidArgument", 400)
    assert message in error.value.message
