"""Amazon ECS: moto records clusters, task definitions and services; this provider runs them.

What the API reports is the truth about local processes (``runner.py`` documents what a
container sees, ``scheduler.py`` the task states, ``rollout.py`` how services converge):

- **CreateService/UpdateService/DeleteService** go to moto first (CreateService also gets AWS's
  checks that the target group has a load balancer and the container maps the port); the answer
  is amended with our deployments and counts. A new task definition or ``forceNewDeployment``
  starts a deployment.
- **DescribeServices**: runningCount/pendingCount, deployments (PRIMARY/ACTIVE, rolloutState
  IN_PROGRESS → COMPLETED, per-deployment counts, failedTasks), events newest first; DRAINING
  after DeleteService until the tasks are gone, then INACTIVE.
- **RunTask/StopTask/ListTasks/DescribeTasks** are answered here (moto's tasks never run and its
  RunTask fails on Fargate task definitions): ARNs ``task/<cluster>/<32 hex>``, ``group``
  ``service:<name>`` (or ``family:<family>``), ``startedBy`` the deployment id, the ENI
  attachment's private IP the task's own loopback address (``runner.py``: where it listens on
  its ``containerPort``). Stopped tasks stay listed (``desiredStatus=STOPPED``) for an hour.
  StopTask (``UserInitiated``) is replaced in a service, as on AWS. DescribeClusters counts
  running and pending tasks.
- **healthCheckGracePeriodSeconds** runs in real time, like other user-set timeouts: it covers
  the application's own start, which is no faster on loopback.
- **DeleteService**: the service is DRAINING until its tasks stop, then INACTIVE. Listings
  (``status()``, the control route) drop it at once; DescribeServices reports it for 10 minutes
  after it became INACTIVE, then only as moto recorded it (INACTIVE, counts 0).
- ``GET /_localcloud/ecs`` lists services (not deleted ones) and tasks with their pids, address,
  the port each container listens on there, and log folder.

Not modelled: placement, capacity providers, task sets, container health checks (task
healthStatus stays UNKNOWN), secrets, the deployment circuit breaker, several port mappings per
container, services created without passing through the edge (CloudFormation).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from ...core.provider import Context, Provider
from ...edge import Call, ControlRule, Route, ServiceError
from .models import Deployment, Service, new_deployment_id, new_task, subnets_of
from .runner import TaskRunner
from .scheduler import Scheduler
from .state import EcsState


class EcsProvider(Provider):
    name = "ecs"
    # Started after, so stopped before, the image store and the load balancer its tasks use.
    requires = ("images", "loadbalancers")

    def __init__(self, ctx: Context):
        super().__init__(ctx)
        self.state = EcsState()
        self.runner = TaskRunner(ctx, self.workdir())
        self.scheduler = Scheduler(ctx, self.state, self.runner)

    def routes(self) -> list[Route]:
        handlers = {
            "CreateService": self._create_service,
            "UpdateService": self._update_service,
            "DeleteService": self._delete_service,
            "DescribeServices": self._describe_services,
            "DescribeClusters": self._describe_clusters,
            "RunTask": self._run_task,
            "StopTask": self._stop_task,
            "ListTasks": self._list_tasks,
            "DescribeTasks": self._describe_tasks,
        }
        return [Route("ecs", operation, handler) for operation, handler in handlers.items()]

    def control(self) -> list[ControlRule]:
        return [ControlRule("", lambda _request: self.state.describe(self.runner.log_dir))]

    # -- lookups (through the API, never under the state lock: they come back to this edge) --
    def _client(self, service: str, region: str) -> Any:
        return self.ctx.client(service, region)

    def _cluster_arn(self, call: Call) -> str:
        """The ARN of the ACTIVE cluster the call names (``default`` when omitted)."""
        name = call.params.get("cluster") or "default"
        found = self._client("ecs", call.region).describe_clusters(clusters=[name])
        for entry in found.get("clusters", []):
            if entry.get("status") == "ACTIVE":
                return entry["clusterArn"]
        raise ServiceError("ClusterNotFoundException", "Cluster not found.")

    def _definition(self, region: str, reference: str) -> dict[str, Any]:
        """A task definition by ARN, family or family:revision."""
        ecs = self._client("ecs", region)
        return ecs.describe_task_definition(taskDefinition=reference)["taskDefinition"]

    # -- services ----------------------------------------------------------------------------
    def _create_service(self, call: Call) -> dict[str, Any]:
        params = call.params
        self._check_load_balancers(call.region, params)
        answer = call.moto()
        data = answer["service"]
        config = params.get("deploymentConfiguration") or {}
        deployment = Deployment(
            id=new_deployment_id(),
            task_definition=data["taskDefinition"],
            definition=self._definition(call.region, data["taskDefinition"]),
            desired=int(data.get("desiredCount") or 0),
            launch_type=data.get("launchType") or "FARGATE",
            network_configuration=data.get("networkConfiguration"),
            created_at=self.scheduler.stamp(),
        )
        service = Service(
            arn=data["serviceArn"],
            name=data["serviceName"],
            cluster_arn=data["clusterArn"],
            region=call.region,
            desired=int(data.get("desiredCount", params.get("desiredCount", 0)) or 0),
            load_balancers=data.get("loadBalancers") or [],
            min_healthy_percent=int(config.get("minimumHealthyPercent", 100)),
            max_percent=int(config.get("maximumPercent", 200)),
            grace_seconds=float(params.get("healthCheckGracePeriodSeconds") or 0),
            deployments=[deployment],
        )
        with self.state.lock:
            self.state.add_service(service)
            answer["service"] = service.to_api(data, [])
        self.ctx.changes.notify()  # the scheduler starts its tasks now
        return answer

    def _check_load_balancers(self, region: str, params: dict[str, Any]) -> None:
        """AWS's CreateService checks on ``loadBalancers`` that moto does not make."""
        entries = params.get("loadBalancers") or []
        if not entries:
            return
        try:
            definition = self._definition(region, params.get("taskDefinition", ""))
        except ClientError:
            return  # moto answers with its own error
        containers = {c["name"]: c for c in definition.get("containerDefinitions", [])}
        elbv2 = self._client("elbv2", region)
        for entry in entries:
            name, port = entry.get("containerName"), entry.get("containerPort")
            mappings = (containers.get(name) or {}).get("portMappings") or []
            if name not in containers or port not in [m.get("containerPort") for m in mappings]:
                raise ServiceError(
                    "InvalidParameterException",
                    f"The container {name} did not have a container port {port} defined.",
                )
            arn = entry.get("targetGroupArn")
            if not arn:
                continue
            try:
                group = elbv2.describe_target_groups(TargetGroupArns=[arn])["TargetGroups"][0]
            except ClientError:
                raise ServiceError(
                    "InvalidParameterException",
                    f"Unable to find the target group with targetGroupArn {arn}.",
                ) from None
            if not group.get("LoadBalancerArns"):
                raise ServiceError(
                    "InvalidParameterException",
                    f"The target group with targetGroupArn {arn} does not have an associated "
                    "load balancer.",
                )

    def _update_service(self, call: Call) -> dict[str, Any]:
        params = call.params
        answer = call.moto()
        data = answer["service"]
        with self.state.lock:
            service = self.state.services.get(data["serviceArn"])
        if service is None:
            return answer
        changed = data["taskDefinition"] != service.primary.task_definition
        deployment = None
        if changed or params.get("forceNewDeployment"):
            deployment = Deployment(
                id=new_deployment_id(),
                task_definition=data["taskDefinition"],
                definition=self._definition(call.region, data["taskDefinition"]),
                desired=0,
                launch_type=service.primary.launch_type,
                network_configuration=data.get("networkConfiguration")
                or service.primary.network_configuration,
                created_at=self.scheduler.stamp(),
            )
        with self.state.lock:
            if "desiredCount" in params:
                service.desired = int(params["desiredCount"])
            config = params.get("deploymentConfiguration") or {}
            service.min_healthy_percent = int(
                config.get("minimumHealthyPercent", service.min_healthy_percent)
            )
            service.max_percent = int(config.get("maximumPercent", service.max_percent))
            if "healthCheckGracePeriodSeconds" in params:
                service.grace_seconds = float(params["healthCheckGracePeriodSeconds"] or 0)
            if data.get("loadBalancers") is not None:
                service.load_balancers = data["loadBalancers"]
            if deployment is not None:
                deployment.desired = service.desired
                service.deploy(deployment)
            answer["service"] = service.to_api(data, self.state.service_tasks(service))
        self.ctx.changes.notify()
        return answer

    def _delete_service(self, call: Call) -> dict[str, Any]:
        answer = call.moto()
        data = answer["service"]
        with self.state.lock:
            service = self.state.services.get(data["serviceArn"])
            if service is not None:
                service.deleting, service.desired = True, 0
                answer["service"] = service.to_api(data, self.state.service_tasks(service))
        self.ctx.changes.notify()
        return answer

    def _describe_services(self, call: Call) -> dict[str, Any]:
        answer = call.moto()
        with self.state.lock:
            answer["services"] = [self._amend(s) for s in answer.get("services", [])]
        return answer

    def _amend(self, data: dict[str, Any]) -> dict[str, Any]:
        service = self.state.services.get(data.get("serviceArn", ""))
        if service is not None:
            return service.to_api(data, self.state.service_tasks(service))
        if data.get("status") == "INACTIVE":  # forgotten here: moto's counts are made up
            data["runningCount"] = data["pendingCount"] = data["desiredCount"] = 0
        return data

    def _describe_clusters(self, call: Call) -> dict[str, Any]:
        answer = call.moto()
        with self.state.lock:
            for cluster in answer.get("clusters", []):
                running, pending = self.state.counts(cluster.get("clusterArn", ""))
                cluster["runningTasksCount"], cluster["pendingTasksCount"] = running, pending
        return answer

    # -- tasks -------------------------------------------------------------------------------
    def _run_task(self, call: Call) -> dict[str, Any]:
        params = call.params
        cluster_arn = self._cluster_arn(call)
        try:
            definition = self._definition(call.region, params.get("taskDefinition", ""))
        except ClientError:
            raise ServiceError("ClientException", "Unable to describe task definition.") from None
        count = int(params.get("count") or 1)
        if not 1 <= count <= 10:
            raise ServiceError("InvalidParameterException", "count must be between 1 and 10.")
        tasks = [
            new_task(
                cluster_arn,
                definition,
                group=params.get("group") or f"family:{definition['family']}",
                created_at=self.scheduler.stamp(),
                started_by=params.get("startedBy"),
                launch_type=params.get("launchType") or "FARGATE",
                overrides=params.get("overrides") or {},
                tags=params.get("tags") or [],
                subnet_id=subnets_of(params.get("networkConfiguration"))[0],
            )
            for _ in range(count)
        ]
        with self.state.lock:
            self.state.tasks.update((task.arn, task) for task in tasks)
            answer = {"tasks": [task.to_api() for task in tasks], "failures": []}
        self.ctx.changes.notify()
        return answer

    def _stop_task(self, call: Call) -> dict[str, Any]:
        cluster_arn = self._cluster_arn(call)
        with self.state.lock:
            task = self.state.find_task(cluster_arn, call.params.get("task", ""))
            if task is None:
                raise ServiceError(
                    "InvalidParameterException", "The referenced task was not found."
                )
            reason = call.params.get("reason") or "Task stopped by user"
            task.request_stop("UserInitiated", reason, self.scheduler.stamp())
            answer = {"task": task.to_api()}
        self.ctx.changes.notify()
        return answer

    def _list_tasks(self, call: Call) -> dict[str, Any]:
        params = call.params
        cluster_arn = self._cluster_arn(call)
        desired = params.get("desiredStatus") or "RUNNING"
        with self.state.lock:
            arns = [
                t.arn
                for t in sorted(self.state.tasks.values(), key=lambda t: t.created_at)
                if t.cluster_arn == cluster_arn
                and t.desired_status == desired
                and (not params.get("serviceName") or t.in_service(params["serviceName"]))
                and (not params.get("family") or t.definition.get("family") == params["family"])
                and (not params.get("startedBy") or t.started_by == params["startedBy"])
                and (not params.get("launchType") or t.launch_type == params["launchType"])
            ]
        start = int(params.get("nextToken") or 0)
        size = int(params.get("maxResults") or 100)
        result: dict[str, Any] = {"taskArns": arns[start : start + size]}
        if start + size < len(arns):
            result["nextToken"] = str(start + size)
        return result

    def _describe_tasks(self, call: Call) -> dict[str, Any]:
        cluster_arn = self._cluster_arn(call)
        found, failures = [], []
        with self.state.lock:
            for reference in call.params.get("tasks", []):
                task = self.state.find_task(cluster_arn, reference)
                if task is not None:
                    found.append(task.to_api())
                    continue
                arn = reference
                if not reference.startswith("arn:"):
                    arn = cluster_arn.replace(":cluster/", ":task/") + "/" + reference
                failures.append({"arn": arn, "reason": "MISSING"})
        return {"tasks": found, "failures": failures}

    # -- control route, status, lifecycle ----------------------------------------------------
    def status(self) -> dict[str, Any]:
        with self.state.lock:
            running = sum(t.last_status == "RUNNING" for t in self.state.tasks.values())
            return {"ecs": {"services": len(self.state.active()), "running_tasks": running}}

    def start(self) -> None:
        self.scheduler.start()

    def stop(self) -> None:
        self.scheduler.stop()
