// `wasm-zerocopy componentize IN.wasm -o OUT.wasm`: a preview1 command made a component with
// the preview1 command adapter jco ships (component/componentize.ts says what else it does).
import { readFileSync, writeFileSync } from 'node:fs';
import { componentize, ComponentizeError } from '../component/componentize.js';
import { wasmKind } from '../component/format.js';
import { InputError, UsageError, type Command } from './core.js';

export const componentizeCommand: Command = {
  name: 'componentize',
  summary: 'wrap a preview1 command module into a WASI 0.2 component',
  operands: 'IN.wasm -o OUT.wasm',
  options: {
    output: { type: 'string', short: 'o', value: 'OUT.wasm', help: 'where to write the component' },
    portable: {
      type: 'boolean',
      help: 'standard WASI 0.2 imports only: an exit status other than 0 becomes 1\n(by default proc_exit keeps its status through wasm-zerocopy:zerocopy/exit, which only this host provides)',
    },
  },
  notes: 'A module that imports `zerocopy` is refused: inside a component its descriptors belong to the\n' +
    'adapter. Components use the WIT interface wasm-zerocopy:zerocopy/zerocopy@0.1.0 (wit/).',

  async run(values, operands) {
    if (operands.length !== 1) throw new UsageError(operands.length === 0 ? 'no module given' : `one module, not ${operands.length}`);
    const output = values.output as string | undefined;
    if (output === undefined) throw new UsageError('-o OUT.wasm is required');
    const [input] = operands;
    let bytes: Buffer;
    try {
      bytes = readFileSync(input);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new InputError(code === 'ENOENT' ? `no such module: ${input}` : `cannot read ${input}: ${code}`);
    }
    const kind = wasmKind(bytes);
    if (kind !== 'module') throw new InputError(kind === 'component' ? `${input} is a component already` : `not a WebAssembly module: ${input}`);
    let component: Uint8Array;
    try {
      component = await componentize(bytes, { portable: values.portable === true });
    } catch (e) {
      if (e instanceof ComponentizeError) throw new InputError(`cannot componentize ${input}: ${e.message}`);
      throw e;
    }
    writeFileSync(output, component);
    return 0;
  },
};
