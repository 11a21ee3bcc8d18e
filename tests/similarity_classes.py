"""Generated lab11 classes for `grader similarity`: submissions are the real student template
with its stubs filled in by one of three independently written solutions a slot (A is the
reference's, B and C are written differently), plus near-copies made by renaming, reformatting,
reordering functions and changing comments, template-only submissions, and notebooks.

`student(choice)` fills the template; `choice` maps each slot to "A", "B" or "C" (or None: left
as the template ships it). Used by tests/test_similarity.py and bench/similarity.py.
"""

import io
import json
import random
import re
import textwrap
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "lab11_fashion_cnn"
TEMPLATE = ROOT / "student_template" / f"{ASSIGNMENT}.py"
_STUB = re.compile(r'^(\s*)raise NotImplementedError\("(\w+): not implemented yet"\)$')
_TODO = re.compile(r"^([A-Z_]+) = None  # TODO.*$")
BUGGY_FIRST, BUGGY_LAST = "    model.train()", "    return total / len(loader.dataset)"


def _v(a, b, c):
    return {"A": textwrap.dedent(a).strip("\n"), "B": textwrap.dedent(b).strip("\n"), "C": textwrap.dedent(c).strip("\n")}


VARIANTS = {
    "conv_output_size": _v("""
        return (n_in + 2 * padding - kernel_size) // stride + 1
    """, """
        padded = n_in + 2 * padding
        steps = (padded - kernel_size) // stride
        return int(steps) + 1
    """, """
        import math
        return int(math.floor((n_in + 2 * padding - kernel_size) / stride)) + 1
    """),
    "make_filter": _v("""
        filters = {
            "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
            "edge_1": [[1, 0, -1], [0, 0, 0], [-1, 0, 1]],
            "edge_2": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
            "edge_3": [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
            "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
            "box_blur": [[1 / 9] * 3] * 3,
            "gaussian_blur": [[1 / 16, 2 / 16, 1 / 16], [2 / 16, 4 / 16, 2 / 16], [1 / 16, 2 / 16, 1 / 16]],
        }
        if name not in filters:
            raise ValueError(f"unknown filter {name!r}; known: {', '.join(filters)}")
        return torch.tensor(filters[name], dtype=torch.float32)
    """, """
        if name == "identity":
            values = [[0, 0, 0], [0, 1, 0], [0, 0, 0]]
        elif name == "edge_1":
            values = [[1, 0, -1], [0, 0, 0], [-1, 0, 1]]
        elif name == "edge_2":
            values = [[0, 1, 0], [1, -4, 1], [0, 1, 0]]
        elif name == "edge_3":
            values = [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]
        elif name == "sharpen":
            values = [[0, -1, 0], [-1, 5, -1], [0, -1, 0]]
        elif name == "box_blur":
            values = torch.ones(3, 3) / 9
        elif name == "gaussian_blur":
            values = torch.tensor([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]) / 16
        else:
            raise ValueError("no such filter: " + str(name))
        return torch.as_tensor(values).float()
    """, """
        known = (
            ("identity", (0, 0, 0, 0, 1, 0, 0, 0, 0)),
            ("edge_1", (1, 0, -1, 0, 0, 0, -1, 0, 1)),
            ("edge_2", (0, 1, 0, 1, -4, 1, 0, 1, 0)),
            ("edge_3", (-1, -1, -1, -1, 8, -1, -1, -1, -1)),
            ("sharpen", (0, -1, 0, -1, 5, -1, 0, -1, 0)),
            ("box_blur", tuple([1 / 9] * 9)),
            ("gaussian_blur", tuple(v / 16 for v in (1, 2, 1, 2, 4, 2, 1, 2, 1))),
        )
        for key, flat in known:
            if key == name:
                return torch.tensor(flat, dtype=torch.float).reshape(3, 3)
        raise ValueError(f"{name} is not a filter I know")
    """),
    "convolve2d": _v("""
        image = torch.as_tensor(image, dtype=torch.float32)
        kernel = torch.as_tensor(kernel, dtype=torch.float32)
        (height, width), (kh, kw) = image.shape, kernel.shape
        padded = torch.zeros(height + 2 * padding, width + 2 * padding)
        padded[padding:padding + height, padding:padding + width] = image
        out = torch.zeros(conv_output_size(height, kh, padding, stride), conv_output_size(width, kw, padding, stride))
        for i in range(out.shape[0]):
            for j in range(out.shape[1]):
                patch = padded[i * stride:i * stride + kh, j * stride:j * stride + kw]
                out[i, j] = (patch * kernel).sum()
        return out
    """, """
        img = torch.as_tensor(image).float()
        ker = torch.as_tensor(kernel).float()
        if padding:
            img = F.pad(img, (padding, padding, padding, padding))
        rows = img.unfold(0, ker.shape[0], stride)
        patches = rows.unfold(1, ker.shape[1], stride)
        result = (patches * ker).sum(dim=(-1, -2))
        return result
    """, """
        source = image.float() if torch.is_tensor(image) else torch.tensor(image, dtype=torch.float32)
        weights = kernel if torch.is_tensor(kernel) else torch.tensor(kernel)
        weights = weights.float()
        h, w = source.shape
        kh, kw = weights.shape
        oh = conv_output_size(h, kh, padding, stride)
        ow = conv_output_size(w, kw, padding, stride)
        result = torch.zeros((oh, ow))
        for r in range(oh):
            for c in range(ow):
                acc = 0.0
                for u in range(kh):
                    for v in range(kw):
                        y = r * stride + u - padding
                        z = c * stride + v - padding
                        if 0 <= y < h and 0 <= z < w:
                            acc += float(source[y, z]) * float(weights[u, v])
                result[r, c] = acc
        return result
    """),
    "SIMPLE_FLATTEN": _v("20 * 4 * 4", "320", "20 * 16"),
    "SimpleCNN.__init__": _v("""
        self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
        self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
        self.mp = nn.MaxPool2d(2)
        self.fc = nn.Linear(SIMPLE_FLATTEN, 10)
    """, """
        self.conv1 = nn.Conv2d(in_channels=1, out_channels=10, kernel_size=(5, 5))
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)
        self.conv2 = nn.Conv2d(in_channels=10, out_channels=20, kernel_size=(5, 5))
        self.fc = nn.Linear(in_features=SIMPLE_FLATTEN, out_features=10)
    """, """
        layers = [nn.Conv2d(1, 10, 5), nn.Conv2d(10, 20, 5)]
        self.conv1, self.conv2 = layers
        self.fc = nn.Linear(320, 10)
    """),
    "SimpleCNN.forward": _v("""
        in_size = x.size(0)
        x = F.relu(self.mp(self.conv1(x)))
        x = F.relu(self.mp(self.conv2(x)))
        x = x.view(in_size, -1)
        return self.fc(x)
    """, """
        out = self.pool(self.conv1(x)).relu()
        out = self.pool(self.conv2(out)).relu()
        out = torch.flatten(out, start_dim=1)
        return self.fc(out)
    """, """
        for conv in (self.conv1, self.conv2):
            x = F.max_pool2d(conv(x), 2)
            x = torch.relu(x)
        return self.fc(x.reshape(x.shape[0], -1))
    """),
    "FASHION_FLATTEN": _v("32 * 7 * 7", "64 * 5 * 5", "24 * 6 * 6"),
    "FashionCNN.__init__": _v("""
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, kernel_size=3, padding=1),  # (N, 16, 28, 28)
            nn.ReLU(),
            nn.MaxPool2d(2),  # (N, 16, 14, 14)
            nn.Conv2d(16, 32, kernel_size=3, padding=1),  # (N, 32, 14, 14)
            nn.ReLU(),
            nn.MaxPool2d(2),  # (N, 32, 7, 7)
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(0.25),
            nn.Linear(FASHION_FLATTEN, 128),
            nn.ReLU(),
            nn.Dropout(0.25),
            nn.Linear(128, 10),
        )
    """, """
        self.block1 = nn.Sequential(nn.Conv2d(1, 32, 3), nn.BatchNorm2d(32), nn.LeakyReLU(), nn.MaxPool2d(2))
        self.block2 = nn.Sequential(nn.Conv2d(32, 64, 3), nn.BatchNorm2d(64), nn.LeakyReLU(), nn.MaxPool2d(2))
        self.drop = nn.Dropout(p=0.4)
        self.hidden = nn.Linear(FASHION_FLATTEN, 256)
        self.out = nn.Linear(256, 10)
    """, """
        self.c1 = nn.Conv2d(1, 12, kernel_size=5, padding=2)
        self.c2 = nn.Conv2d(12, 24, kernel_size=3)
        self.dropout = nn.Dropout2d(0.1)
        self.head = nn.Linear(FASHION_FLATTEN, 10)
        self.dropout_fc = nn.Dropout(0.5)
    """),
    "FashionCNN.forward": _v("""
        return self.classifier(self.features(x))
    """, """
        h = self.block2(self.block1(x))
        h = h.flatten(1)
        h = self.drop(F.relu(self.hidden(h)))
        return self.out(h)
    """, """
        x = F.max_pool2d(F.elu(self.c1(x)), kernel_size=2)
        x = F.max_pool2d(F.elu(self.c2(x)), kernel_size=2)
        x = self.dropout(x)
        x = x.view(-1, FASHION_FLATTEN)
        return self.head(self.dropout_fc(x))
    """),
    "make_optimizer": _v("""
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.7)
        return optimizer, scheduler
    """, """
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
        return opt, sched
    """, """
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr)
        decay = lambda epoch: 0.8 ** epoch
        return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda=decay)
    """),
    "train_epoch": _v("""
        model.train()
        total, count = 0.0, 0
        for x, y in loader:
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            optimizer.step()
            total += loss.item() * x.size(0)
            count += x.size(0)
        return total / count
    """, """
        model.train()
        total = 0.0
        for x, y in loader:
            optimizer.zero_grad()
            outputs = model(x)
            loss = criterion(outputs, y)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(y)
        return total / len(loader.dataset)
    """, """
        model.train(True)
        seen = 0
        running = 0.0
        for batch, labels in loader:
            logits = model(batch)
            batch_loss = criterion(logits, labels)
            model.zero_grad()
            batch_loss.backward()
            optimizer.step()
            n = labels.shape[0]
            running = running + batch_loss.detach().item() * n
            seen = seen + n
        return running / max(seen, 1)
    """),
    "fit": _v("""
        optimizer, scheduler = make_optimizer(model, lr)
        criterion = nn.CrossEntropyLoss()
        history = {"loss": [], "lr": []}
        for _ in range(epochs):
            history["lr"].append(optimizer.param_groups[0]["lr"])
            history["loss"].append(train_epoch(model, loader, criterion, optimizer))
            scheduler.step()
        return history
    """, """
        opt, sched = make_optimizer(model, lr)
        loss_fn = nn.CrossEntropyLoss()
        losses, rates = [], []
        for epoch in range(epochs):
            rates.append(sched.get_last_lr()[0])
            losses.append(train_epoch(model, loader, loss_fn, opt))
            sched.step()
        return {"loss": losses, "lr": rates}
    """, """
        optimizer, scheduler = make_optimizer(model, lr)
        result = dict(loss=[], lr=[])
        epoch = 0
        while epoch < epochs:
            current = [group["lr"] for group in optimizer.param_groups][0]
            mean_loss = train_epoch(model, loader, nn.CrossEntropyLoss(), optimizer)
            result["loss"].append(float(mean_loss))
            result["lr"].append(float(current))
            scheduler.step()
            epoch += 1
        return result
    """),
    "predict": _v("""
        model.eval()
        with torch.no_grad():
            return model(x).argmax(dim=1)
    """, """
        was = model.training
        model.eval()
        with torch.inference_mode():
            scores = model(x)
        model.train(was)
        return torch.argmax(scores, dim=1)
    """, """
        model.eval()
        with torch.no_grad():
            _, labels = torch.max(model(x), 1)
        return labels.long()
    """),
}
SLOTS = tuple(VARIANTS)


def student(choice):
    """The template with each slot of `choice` ({slot: "A" | "B" | "C" | None}) filled in."""
    lines, out, cls, index = TEMPLATE.read_text(encoding="utf-8").split("\n"), [], "", 0
    while index < len(lines):
        line = lines[index]
        cls = line[6:].split("(")[0] if line.startswith("class ") else cls
        stub, todo = _STUB.match(line), _TODO.match(line)
        if line == BUGGY_FIRST and choice.get("train_epoch"):
            last = lines.index(BUGGY_LAST, index)
            out += _indent(VARIANTS["train_epoch"][choice["train_epoch"]], "    ")
            index = last + 1
            continue
        if stub:
            slot = f"{cls}.{stub[2]}" if stub[2] in ("__init__", "forward") else stub[2]
            if choice.get(slot):
                line = "\n".join(_indent(VARIANTS[slot][choice[slot]], stub[1]))
        elif todo and choice.get(todo[1]):
            line = f"{todo[1]} = {VARIANTS[todo[1]][choice[todo[1]]]}"
        out.append(line)
        index += 1
    return "\n".join(out)


def _indent(body, indent):
    return [indent + line if line.strip() else "" for line in body.split("\n")]


def everywhere(style):
    return {slot: style for slot in SLOTS}


def rotation(shift):
    """A student who picks a different style than every other rotation on every slot."""
    return {slot: "ABC"[(number + shift) % 3] for number, slot in enumerate(SLOTS)}


# -- how a copier hides a copy --------------------------------------------------------------

RENAMES = {"optimizer": "optim_", "scheduler": "lr_sched", "model": "net", "loader": "data_loader",
           "image": "picture", "kernel": "filt", "values": "vals", "result": "res", "padded": "with_border",
           "history": "log", "losses": "loss_values", "rates": "lr_values", "opt": "the_opt", "sched": "decay",
           "img": "arr", "ker": "k3", "rows": "windows", "patches": "tiles", "source": "src", "weights": "w8",
           "acc": "total_sum", "known": "table", "flat": "entries", "out": "output", "h": "hid", "x": "inp"}


def rename(code):
    """Every identifier in RENAMES renamed (word-wise; attribute names after a dot too)."""
    return re.sub(r"\b(" + "|".join(map(re.escape, RENAMES)) + r")\b", lambda m: RENAMES[m[1]], code)


def reformat(code):
    """Every token kept, every space between them changed: 2-space indentation and the spacing of
    tokenize.untokenize (`def f (a ,b ):`), as an editor or a formatter would rewrite it."""
    tokens = []
    for token in tokenize.generate_tokens(io.StringIO(code).readline):
        text = token.string.replace("    ", "  ") if token.type == tokenize.INDENT else token.string
        tokens.append((token.type, text))
    return tokenize.untokenize(tokens)


def recomment(code):
    """Comments dropped, new ones written, docstrings replaced."""
    code = re.sub(r'"""(.|\n)*?"""', '"""My own words here."""', code)
    out = []
    for line in code.split("\n"):
        if line.lstrip().startswith("#"):
            continue
        line = re.sub(r"  # .*$", "", line)
        out.append(line + ("  # step" if line.strip().startswith("return") else ""))
    return "\n".join(out)


def reorder(code):
    """The cells of the module (`# %%`) in reverse order, the imports kept first."""
    cells = code.split("\n# %%")
    return "\n# %%".join(cells[:2] + cells[2:][::-1])


def notebook(code):
    """A notebook of `code`: a code cell a `# %%` cell, a markdown cell before each."""
    cells = []
    for number, chunk in enumerate(code.split("\n# %%")):
        body = chunk.split("\n", 1)[1] if number and "\n" in chunk else chunk
        cells.append({"cell_type": "markdown", "metadata": {}, "source": [f"Part {number}"]})
        cells.append({"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
                      "source": body.strip("\n").splitlines(keepends=True)})
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1)


def random_student(rng):
    """A plausible student of a big class: a style a slot at random, some slots left undone."""
    return {slot: rng.choice("AABCC") if rng.random() > 0.05 else None for slot in SLOTS}


def big_class(dest, size, planted=10, seed=0):
    """`size` submissions in `dest` (each a random student, renamed to look personal), of which
    `planted` pairs are near-copies; returns [(id_a, id_b)] of the planted pairs."""
    rng, dest = random.Random(seed), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    pairs = []
    for number in range(size - planted):
        code = student(random_student(rng))
        (dest / f"s{number:03d}.py").write_text(code, encoding="utf-8")
        if number < planted:
            copy = reformat(reorder(recomment(rename(code))))
            (dest / f"c{number:03d}.py").write_text(copy, encoding="utf-8")
            pairs.append((f"c{number:03d}", f"s{number:03d}"))
    return pairs
