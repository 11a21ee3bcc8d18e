"""The optimizer steps a student's training takes, watched from the child: which optimizer, at what
rate and momentum, and whether it updates the model the grader handed over (or a copy of it)."""


def watched_steps(model):
    """Record every optimizer step while installed (a global pre-step hook): the optimizer's class,
    its first group's lr and momentum, and whether it updates `model`'s parameters."""
    import torch.optim.optimizer as optim_module

    ours = {id(p) for p in model.parameters()}
    steps = []

    def hook(optimizer, args, kwargs):
        if len(steps) >= 20_000:
            return
        groups = getattr(optimizer, "param_groups", None) or [{}]
        group = groups[0] if isinstance(groups[0], dict) else {}
        kind = type(optimizer)
        lr, momentum = group.get("lr"), group.get("momentum")
        steps.append({"class": f"{kind.__module__}.{kind.__qualname__}",
                      "lr": float(lr) if type(lr) in (int, float) else None,
                      "momentum": float(momentum) if type(momentum) in (int, float) else None,
                      "ours": any(id(p) in ours for g in groups if isinstance(g, dict) for p in g.get("params", ()))})

    return steps, optim_module.register_optimizer_step_pre_hook(hook)


def step_summary(steps):
    """The number of optimizer steps on the model, each distinct (class, lr, momentum) seen, and
    the number of steps on other parameters (a copy of the model trained instead)."""
    ours = [s for s in steps if s["ours"]]
    kinds = []
    for step in ours:
        kind = {"class": step["class"], "lr": step["lr"], "momentum": step["momentum"]}
        if kind not in kinds and len(kinds) < 5:
            kinds.append(kind)
    return {"steps": len(ours), "optimizers": kinds, "elsewhere": len(steps) - len(ours)}
