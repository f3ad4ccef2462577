"""Discord's OpenAPI spec as validators: the operation a request path matches, and the schema the
spec gives an operation's answer for a status. Shared by the REST and the gateway checks."""
import collections
import json
import re

import jsonschema
import referencing
import referencing.jsonschema


class Spec:
    def __init__(self, path):
        self.spec = json.load(open(path))
        self.registry = referencing.Registry().with_resource("spec", referencing.jsonschema.DRAFT202012.create_resource(self.spec))
        self.templates = []
        for template, item in self.spec["paths"].items():
            pattern = re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", re.escape(template).replace(r"\{", "{").replace(r"\}", "}")) + "$")
            literal = sum(1 for part in template.split("/") if part and not part.startswith("{"))
            self.templates.append((literal, template, pattern, item))
        # The template with the most literal segments wins, as /users/@me over /users/{user_id}.
        self.templates.sort(key=lambda t: -t[0])

    def operation(self, method, path):
        for _, template, pattern, item in self.templates:
            if pattern.match(path) and method.lower() in item:
                return template, item[method.lower()]
        return None, None

    @staticmethod
    def declared(op, status):
        responses = op.get("responses", {})
        return responses.get(str(status)) or responses.get(f"{str(status)[0]}XX") or responses.get("default")

    def schema_for(self, op, status):
        response = self.declared(op, status)
        if response is None:
            return None
        while "$ref" in response:
            response = self.resolve(response["$ref"])
        content = response.get("content", {}).get("application/json")
        return content.get("schema") if content else None

    def answer_schema(self, method, template, status=200):
        """The schema of one operation's answer, named by its path template."""
        return self.schema_for(self.spec["paths"][template][method.lower()], status)

    def resolve(self, ref):
        node = self.spec
        for part in ref.lstrip("#/").split("/"):
            node = node[part]
        return node

    def validator(self, schema):
        # The schema's local references, pointed at the whole spec.
        rebased = json.loads(json.dumps(schema).replace('"$ref": "#/', '"$ref": "spec#/'))
        return jsonschema.Draft202012Validator(rebased, registry=self.registry)

    @staticmethod
    def describe(error):
        where = "/".join(str(p) for p in error.absolute_path if not isinstance(p, int)) or "(top)"
        return f"{where}: {error.message[:160]}"


class Tally:
    """What was checked, what passed and why the rest failed, per key; and what was set aside."""

    def __init__(self):
        self.checked = collections.Counter()
        self.passed = collections.Counter()
        self.failures = collections.defaultdict(collections.Counter)
        self.aside = {}

    def add(self, key, problems):
        self.checked[key] += 1
        if not problems:
            self.passed[key] += 1
        for problem in problems[:3]:
            self.failures[key][problem] += 1

    def set_aside(self, heading, key):
        self.aside.setdefault(heading, collections.Counter())[key] += 1

    def report(self, headline):
        """Prints the report; answers whether everything checked passed."""
        total, ok = sum(self.checked.values()), sum(self.passed.values())
        print(headline.format(ok=ok, total=total, keys=len(self.checked)))
        for key in sorted(self.checked):
            mark = "ok " if self.passed[key] == self.checked[key] else "BAD"
            print(f"  {mark} {key}: {self.passed[key]}/{self.checked[key]}")
            for problem, count in self.failures[key].most_common(6):
                print(f"        {count} x {problem}")
        for heading, counter in self.aside.items():
            print(f"{heading}: {sum(counter.values())}")
            for key, count in counter.most_common(20):
                print(f"  {count} x {key}")
        return ok == total
