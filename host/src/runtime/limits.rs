//! Per-plugin limits (memory cap, deadline) with their defaults, and the
//! resource limiter that enforces the memory cap.

use std::time::Duration;

/// What to do with one limit of a plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitChange {
    /// Leave it as it is.
    Keep,
    /// Back to the default.
    Reset,
    /// This value.
    Set(u32),
}

/// Limits that apply to every call of one plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Limits {
    pub memory_mib: u32,
    pub deadline_ms: u32,
}

impl Limits {
    pub const DEFAULT: Limits = Limits {
        memory_mib: 64,
        deadline_ms: 5_000,
    };
    /// The largest values a site owner may set.
    pub const MAX: Limits = Limits {
        memory_mib: crate::engine::MAX_MEMORY_MIB,
        deadline_ms: 600_000,
    };

    pub fn memory_bytes(&self) -> usize {
        self.memory_mib as usize * 1024 * 1024
    }

    pub fn deadline(&self) -> Duration {
        Duration::from_millis(u64::from(self.deadline_ms))
    }

    /// The most bytes one statement's result may carry into the guest: a
    /// quarter of its memory, so that decoding it cannot exhaust the rest.
    pub fn result_cap(&self) -> usize {
        self.memory_bytes() / 4
    }
}

/// The most linear memories, tables and core instances one plugin call may
/// create: a plugin built with Rust, Python or JavaScript needs one or two
/// memories and a handful of instances. Checked when a plugin is loaded
/// (`plugin inspect` shows the reason) and again by the limiter.
pub const MAX_MEMORIES: usize = 4;
pub const MAX_TABLES: usize = 20;
pub const MAX_INSTANCES: usize = 100;

/// Most table elements one call may hold, over all of its tables.
const MAX_TABLE_ELEMENTS: usize = 1_000_000;

/// Enforces the memory cap over the whole call, summed over every linear
/// memory of every instance (a component with twenty memories gets the same
/// cap as one with one), and remembers that it refused, so a trap that
/// follows can be reported as "out of memory" rather than as a crash.
pub struct MemoryLimiter {
    max_bytes: usize,
    /// Bytes of linear memory the call's memories hold together.
    memory_bytes: usize,
    /// Elements the call's tables hold together.
    table_elements: usize,
    /// The total the plugin asked for when it was refused.
    pub refused: Option<usize>,
}

impl MemoryLimiter {
    pub fn new(max_bytes: usize) -> MemoryLimiter {
        MemoryLimiter {
            max_bytes,
            memory_bytes: 0,
            table_elements: 0,
            refused: None,
        }
    }

    /// Bytes of the cap the call's memories leave: what SQLite may use for
    /// one of its statements.
    pub fn available(&self) -> usize {
        self.max_bytes.saturating_sub(self.memory_bytes)
    }
}

impl wasmtime::ResourceLimiter for MemoryLimiter {
    /// Also called when a memory is created (`current` 0).
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = (self.memory_bytes - current.min(self.memory_bytes)).saturating_add(desired);
        if total > self.max_bytes {
            self.refused = Some(total);
            return Ok(false);
        }
        self.memory_bytes = total;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total =
            (self.table_elements - current.min(self.table_elements)).saturating_add(desired);
        if total > MAX_TABLE_ELEMENTS {
            return Ok(false);
        }
        self.table_elements = total;
        Ok(true)
    }

    fn instances(&self) -> usize {
        MAX_INSTANCES
    }

    fn tables(&self) -> usize {
        MAX_TABLES
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES
    }
}

/// How many memories, tables and core instances one instantiation of a
/// component creates, read from its bytes.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub memories: usize,
    pub tables: usize,
    pub instances: usize,
}

impl Shape {
    /// Count what `wasm` (a component) creates: each core instance creates
    /// the memories and tables its module defines. Nested components are
    /// counted once; the limiter catches any that are instantiated more often.
    pub fn of(wasm: &[u8]) -> Result<Shape, String> {
        use wasmparser::{Encoding, Instance, Parser, Payload};
        /// One module or component being read.
        enum Frame {
            Module(Shape),
            Component { modules: Vec<Shape>, total: Shape },
        }
        let mut stack: Vec<Frame> = Vec::new();
        let mut result = Shape::default();
        for payload in Parser::new(0).parse_all(wasm) {
            match payload.map_err(|e| e.to_string())? {
                Payload::Version { encoding, .. } => stack.push(match encoding {
                    Encoding::Module => Frame::Module(Shape::default()),
                    Encoding::Component => Frame::Component {
                        modules: Vec::new(),
                        total: Shape::default(),
                    },
                }),
                Payload::MemorySection(r) => {
                    if let Some(Frame::Module(shape)) = stack.last_mut() {
                        shape.memories += r.count() as usize;
                    }
                }
                Payload::TableSection(r) => {
                    if let Some(Frame::Module(shape)) = stack.last_mut() {
                        shape.tables += r.count() as usize;
                    }
                }
                Payload::InstanceSection(reader) => {
                    if let Some(Frame::Component { modules, total }) = stack.last_mut() {
                        for instance in reader {
                            total.instances += 1;
                            if let Instance::Instantiate { module_index, .. } =
                                instance.map_err(|e| e.to_string())?
                            {
                                // An aliased module we cannot see: assume one
                                // memory and one table.
                                let module =
                                    modules
                                        .get(module_index as usize)
                                        .copied()
                                        .unwrap_or(Shape {
                                            memories: 1,
                                            tables: 1,
                                            instances: 0,
                                        });
                                total.memories += module.memories;
                                total.tables += module.tables;
                            }
                        }
                    }
                }
                Payload::End(_) => {
                    let done = match stack.pop() {
                        Some(Frame::Module(shape)) => {
                            if let Some(Frame::Component { modules, .. }) = stack.last_mut() {
                                modules.push(shape);
                            }
                            continue;
                        }
                        Some(Frame::Component { total, .. }) => total,
                        None => continue,
                    };
                    match stack.last_mut() {
                        Some(Frame::Component { total, .. }) => {
                            total.memories += done.memories;
                            total.tables += done.tables;
                            total.instances += done.instances;
                        }
                        _ => result = done,
                    }
                }
                _ => {}
            }
        }
        Ok(result)
    }

    /// Why a component of this shape is refused, if it is.
    pub fn problem(&self) -> Option<String> {
        let over = [
            ("linear memories", self.memories, MAX_MEMORIES),
            ("tables", self.tables, MAX_TABLES),
            ("core instances", self.instances, MAX_INSTANCES),
        ]
        .into_iter()
        .find(|(_, n, max)| n > max)?;
        Some(format!(
            "it creates {} {} per call, more than the {} a plugin may have (memory is capped \
             per plugin call, over all of them)",
            over.1, over.0, over.2
        ))
    }
}

#[cfg(test)]
mod tests {
    use wasm_encoder::{
        Component, InstanceSection, MemorySection, MemoryType, Module, ModuleArg, ModuleSection,
    };
    use wasmtime::ResourceLimiter;

    use super::*;

    const MIB: usize = 1024 * 1024;

    /// A component whose one core module defines `memories` memories of
    /// `pages` pages, instantiated `instances` times.
    pub(crate) fn component(memories: usize, pages: u64, instances: usize) -> Vec<u8> {
        let mut module = Module::new();
        let mut section = MemorySection::new();
        for _ in 0..memories {
            section.memory(MemoryType {
                minimum: pages,
                maximum: None,
                memory64: false,
                shared: false,
                page_size_log2: None,
            });
        }
        module.section(&section);
        let mut component = Component::new();
        component.section(&ModuleSection(&module));
        let mut instances_section = InstanceSection::new();
        for _ in 0..instances {
            instances_section.instantiate(0, Vec::<(&str, ModuleArg)>::new());
        }
        component.section(&instances_section);
        component.finish()
    }

    #[test]
    fn the_memory_cap_is_summed_over_every_memory_of_the_call() {
        let mut limiter = MemoryLimiter::new(64 * MIB);
        for _ in 0..3 {
            assert!(limiter.memory_growing(0, 20 * MIB, None).unwrap());
        }
        // A fourth 20 MiB memory would make 80 MiB.
        assert!(!limiter.memory_growing(0, 20 * MIB, None).unwrap());
        assert_eq!(limiter.refused, Some(80 * MIB));
        // Growing one of the three by 4 MiB fits exactly.
        assert!(limiter.memory_growing(20 * MIB, 24 * MIB, None).unwrap());
        assert!(!limiter.memory_growing(24 * MIB, 25 * MIB, None).unwrap());
    }

    #[test]
    fn a_component_is_counted_by_what_its_instances_create() {
        let shape = Shape::of(&component(1, 1, 20)).unwrap();
        assert_eq!(
            shape,
            Shape {
                memories: 20,
                tables: 0,
                instances: 20
            }
        );
        let problem = shape.problem().unwrap();
        assert!(problem.contains("20 linear memories"), "{problem}");
        assert_eq!(Shape::of(&component(1, 1, 1)).unwrap().problem(), None);
        assert!(Shape::of(&component(5, 1, 1)).unwrap().problem().is_some());
    }
}
