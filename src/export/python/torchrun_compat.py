"""torchrun for Debian bookworm's PyTorch 1.13 on Python 3.11, with the same arguments:

    python3 torchrun_compat.py --standalone --nproc_per_node 2 train_ddp.py ...

That torch's launcher reads its --redirects/--tee values by iterating the Std flags, and since Python 3.11 an
IntFlag's zero member is not iterated, so the default "0" becomes None and every launch fails with
"'NoneType' object has no attribute 'get'" (fixed in PyTorch 2.0). Elsewhere use torchrun itself.
"""
import runpy

from torch.distributed.elastic.multiprocessing import api


def _from_str(cls, vm):
    # PyTorch 2's reading: a number is one Std for every rank, "rank:n,..." one per rank.
    if ':' in vm:
        return {int(rank): cls(int(v)) for rank, v in (m.split(':') for m in vm.split(','))}
    return cls(int(vm))


api.Std.from_str = classmethod(_from_str)
runpy.run_module('torch.distributed.run', run_name='__main__')
