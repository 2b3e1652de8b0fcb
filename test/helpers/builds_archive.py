"""Write a stage directory as pkgforge/builds' build.py writes its archive.

The archive step of build.py, as a stand-alone script for tests:
  python3 builds_archive.py <stage-dir> <out.tar.gz> <epoch>
"""
import gzip
import sys
import tarfile
from pathlib import Path

stage, archive, epoch = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
with open(archive, "wb") as raw:
    with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as gz:
        with tarfile.open(fileobj=gz, mode="w", format=tarfile.GNU_FORMAT) as tf:
            for path in sorted(stage.iterdir()):
                info = tf.gettarinfo(path, arcname=path.name)
                info.mtime = int(epoch)
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                with open(path, "rb") as fh:
                    tf.addfile(info, fh)
