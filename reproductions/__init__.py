"""One module per implemented paper; each is named by its registry entry's `reproduction.module`.

Papers kept outside this checkout can join the package: folders listed in $GAN_BENCH_REPRODUCTIONS
(os.pathsep-separated) are searched for `reproductions.<name>` modules too, so an out-of-tree paper
is still loaded as `reproductions.<name>` and the registry's "only inside reproductions/" rule holds.
"""

import os

__path__ = [*__path__, *(p for p in os.environ.get("GAN_BENCH_REPRODUCTIONS", "").split(os.pathsep) if p)]
