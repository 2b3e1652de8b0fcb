// `node --import this-file …`: every ES module the process resolves is
// appended to the file $REBUILD_TRACE_MODULES, one URL a line, by a resolve
// hook (it runs on the loader's thread and writes before the module loads).
import { register } from 'node:module';

register('./trace-modules-hooks.mjs', {
  parentURL: import.meta.url,
  data: { file: process.env.REBUILD_TRACE_MODULES },
});
