"""Installs the four folders as one distribution: `dgm/` as `dgm`, and `archive/`, `sandbox/`
and `evals/` as `dgm.archive`, `dgm.sandbox` and `dgm.evals`, so installing dgm never claims
generic top-level names that other distributions own. (The rest lives in pyproject.toml.)"""

from setuptools import find_packages, setup

NESTED = {"archive": "dgm.archive", "sandbox": "dgm.sandbox", "evals": "dgm.evals"}

packages = find_packages(include=["dgm", "dgm.*"])
package_dir = {"dgm": "dgm"}
for folder, name in NESTED.items():
    package_dir[name] = folder
    packages += [name, *(f"{name}.{sub}" for sub in find_packages(folder))]

setup(packages=packages, package_dir=package_dir)
